using Microsoft.Extensions.Logging;
using Recommender.Data;
using Recommender.Numerics;

namespace Recommender.Generation;

public sealed partial class SyntheticGenerator
{
    private const int MinListenersPerTrack = 5;

    private sealed class Chunk
    {
        public int[] UserIds = [];
        public int[] TrackIds = [];
        public int[] Seqs = [];
        public long[] Micros = [];
        public long[] Index = [];
    }

    private long WriteInteractions(string path, ref Rng rng)
    {
        var n = _options.Users;

        // Users: sparse raw ids, arrival over the year (~9% already there in January, more later),
        // lognormal activity (median ~55, quartiles ~22/149) scaled by how long the user is around.
        var rawIds = new int[n];
        var arrival = new int[n];
        var budget = new double[n];
        var id = 1;
        var total = 0.0;
        for (var u = 0; u < n; u++)
        {
            rawIds[u] = id;
            id += rng.NextDouble() < 0.001 ? 2 + rng.Next(3) : 1;
            arrival[u] = rng.NextDouble() < 0.09 ? 0 : (int)(Days * Math.Pow(rng.NextDouble(), 0.85));
            var presence = Math.Clamp((Days - arrival[u]) / 150.0, 0.08, 1.0);
            budget[u] = Math.Exp(Math.Log(55) + (1.36 * rng.NextGaussian())) * presence;
            total += budget[u];
        }

        var scale = _options.MeanEventsPerUser * n / total; // at full size the sampler falls ~7% short of budgets, the minimum of 11 adds ~7%
        var cap = Math.Min(16_637, _options.Tracks / 2);
        var counts = new int[n];
        for (var u = 0; u < n; u++)
        {
            var c = (int)Math.Round(budget[u] * scale);
            if (c < 11)
            {
                // The export seems to have dropped short histories: few below 11, a spike at 11.
                c = rng.NextDouble() < 0.07 ? Math.Max(c, 3) : rng.NextDouble() < 0.4 ? 11 : 11 + (int)(-Math.Log(1 - rng.NextDouble()) * 12);
            }

            counts[u] = Math.Min(c, cap);
        }

        // Every track gets at least five listeners, drawn in proportion to user activity.
        var (forcedOffsets, forcedTracks) = ForcedListeners(counts, ref rng);
        LogUsersReady(_logger, n, forcedTracks.Length);

        using var output = new ParquetOutput(path,
        [
            new(Columns.UserId, ColumnKind.Int32, Optional: true),
            new(Columns.TrackId, ColumnKind.Int32, Optional: true),
            new(Columns.TrackSeq, ColumnKind.Int16, Optional: true),
            new(Columns.StartedAt, ColumnKind.TimestampMicros, Optional: true),
            new(Columns.PandasIndex, ColumnKind.Int64, Optional: true),
        ]);
        var per = _options.UsersPerChunk;
        var chunks = (n + per - 1) / per;
        var batch = Math.Max(2, Environment.ProcessorCount * 2);
        long events = 0;
        for (var first = 0; first < chunks; first += batch)
        {
            var results = new Chunk[Math.Min(batch, chunks - first)];
            Parallel.For(0, results.Length, Cores.Options(), k =>
            {
                var c = first + k;
                results[k] = GenerateChunk(c, c * per, Math.Min(n, (c + 1) * per), rawIds, arrival, counts, forcedOffsets, forcedTracks);
            });
            foreach (var chunk in results)
            {
                output.BeginRowGroup();
                output.WriteInt32(chunk.UserIds);
                output.WriteInt32(chunk.TrackIds);
                output.WriteInt32(chunk.Seqs);
                output.WriteInt64(chunk.Micros);
                output.WriteInt64(chunk.Index);
                events += chunk.UserIds.Length;
            }

            LogProgress(_logger, Math.Min(n, (first + results.Length) * per), n, events);
        }

        output.Commit();
        return events;
    }

    private (int[] Offsets, int[] Tracks) ForcedListeners(int[] counts, ref Rng rng)
    {
        var userCum = counts.Select(c => (double)c).ToArray();
        WeightedChoice.Accumulate(userCum);
        var t = _options.Tracks;
        var pairs = new (int User, int Track)[(long)t * MinListenersPerTrack];
        Span<int> chosen = stackalloc int[MinListenersPerTrack];
        for (var i = 0; i < t; i++)
        {
            for (var k = 0; k < MinListenersPerTrack; k++)
            {
                int u;
                do
                {
                    u = WeightedChoice.Pick(userCum, ref rng);
                }
                while (chosen[..k].Contains(u));
                chosen[k] = u;
                pairs[(i * MinListenersPerTrack) + k] = (u, i);
            }
        }

        var offsets = new int[counts.Length + 1];
        foreach (var (u, _) in pairs)
        {
            offsets[u + 1]++;
        }

        Csr.CountsToOffsets(offsets);

        var tracks = new int[pairs.Length];
        var next = offsets[..^1].ToArray();
        foreach (var (u, track) in pairs)
        {
            tracks[next[u]++] = track;
        }

        return (offsets, tracks);
    }

    private Chunk GenerateChunk(int chunkIndex, int from, int to, int[] rawIds, int[] arrival, int[] counts, int[] forcedOffsets, int[] forcedTracks)
    {
        var rng = Rng.ForStream(_options.Seed, (ulong)chunkIndex + 1);
        var capacity = 0;
        for (var u = from; u < to; u++)
        {
            capacity += Math.Max(counts[u], forcedOffsets[u + 1] - forcedOffsets[u]);
        }

        var chunk = new Chunk
        {
            UserIds = new int[capacity],
            TrackIds = new int[capacity],
            Seqs = new int[capacity],
            Micros = new long[capacity],
            Index = new long[capacity],
        };
        var heard = new HashSet<int>();
        var tracks = new List<int>();
        var days = new List<int>();
        Span<int> genres = stackalloc int[3];
        Span<double> genreCum = stackalloc double[3];
        var favourites = new int[12];
        var at = 0;
        var epochDay = DayOf(Year);
        for (var u = from; u < to; u++)
        {
            heard.Clear();
            tracks.Clear();
            days.Clear();
            var start = arrival[u];

            // Taste: one to three genres with random weights, three to twelve favourite artists in them.
            var genreCount = 1 + rng.Next(3);
            var sum = 0.0;
            for (var g = 0; g < genreCount; g++)
            {
                genres[g] = WeightedChoice.Pick(_genreCum, ref rng);
                sum += 0.2 + rng.NextDouble();
                genreCum[g] = sum;
            }

            var favouriteCount = 3 + rng.Next(10);
            for (var f = 0; f < favouriteCount; f++)
            {
                favourites[f] = PickArtistInGenre(genres[WeightedChoice.Pick(genreCum[..genreCount], ref rng)], ref rng);
            }

            for (var f = forcedOffsets[u]; f < forcedOffsets[u + 1]; f++)
            {
                var track = forcedTracks[f];
                if (heard.Add(track))
                {
                    tracks.Add(track);
                    days.Add(rng.Next(Math.Max(start, _trackRelease[track]), Days));
                }
            }

            var target = Math.Max(counts[u], tracks.Count);
            var attempts = (target * 8) + 60;
            while (tracks.Count < target && attempts > 0)
            {
                var day = rng.Next(start, Days);
                var roll = rng.NextDouble();
                int artist;
                var length = 1 + (int)(-Math.Log(1 - rng.NextDouble()) * 5);
                if (roll < 0.45)
                {
                    artist = favourites[rng.Next(favouriteCount)];
                }
                else if (roll < 0.85)
                {
                    artist = PickArtistInGenre(genres[WeightedChoice.Pick(genreCum[..genreCount], ref rng)], ref rng);
                }
                else
                {
                    // Something popular from anywhere: one track, not a session.
                    var track = WeightedChoice.Pick(_trackCum, ref rng);
                    attempts--;
                    if (Accept(track, day, ref rng) && heard.Add(track))
                    {
                        tracks.Add(track);
                        days.Add(day);
                    }

                    continue;
                }

                if (artist < 0)
                {
                    attempts--;
                    continue;
                }

                var lo = _artistOffsets[artist];
                var cum = _artistTrackCum.AsSpan(lo, _artistOffsets[artist + 1] - lo);
                for (var s = 0; s < length && tracks.Count < target && attempts > 0; s++)
                {
                    attempts--;
                    var track = _artistTracks[lo + WeightedChoice.Pick(cum, ref rng)];
                    if (Accept(track, day, ref rng) && heard.Add(track))
                    {
                        tracks.Add(track);
                        days.Add(day);
                    }
                }
            }

            // History order: by day, sessions keep their order within a day.
            var order = Enumerable.Range(0, tracks.Count).ToArray();
            var keys = days.Select((d, i) => ((long)d << 32) | (uint)i).ToArray();
            Array.Sort(keys, order);
            for (var k = 0; k < order.Length; k++)
            {
                chunk.UserIds[at] = rawIds[u];
                chunk.TrackIds[at] = (int)_trackIds[tracks[order[k]]];
                chunk.Seqs[at] = k + 1;
                chunk.Micros[at] = (epochDay + days[order[k]]) * 86_400_000_000L;
                chunk.Index[at] = k;
                at++;
            }
        }

        if (at != capacity)
        {
            chunk.UserIds = chunk.UserIds[..at];
            chunk.TrackIds = chunk.TrackIds[..at];
            chunk.Seqs = chunk.Seqs[..at];
            chunk.Micros = chunk.Micros[..at];
            chunk.Index = chunk.Index[..at];
        }

        return chunk;
    }

    private int PickArtistInGenre(int genre, ref Rng rng)
    {
        var lo = _genreOffsets[genre];
        var hi = _genreOffsets[genre + 1];
        return hi == lo ? -1 : _genreArtists[lo + WeightedChoice.Pick(_genreArtistCum.AsSpan(lo, hi - lo), ref rng)];
    }

    /// <summary>New releases are not heard before release and fade over about six weeks.</summary>
    private bool Accept(int track, int day, ref Rng rng)
    {
        var release = _trackRelease[track];
        return release < 0 || (day >= release && rng.NextDouble() < Math.Exp(-(day - release) / 45.0));
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "generate: {Users} users planned, {Forced} seed listens so that every track has five listeners")]
    private static partial void LogUsersReady(ILogger logger, int users, int forced);

    [LoggerMessage(Level = LogLevel.Information, Message = "generate: {Done}/{Total} users, {Events} events written")]
    private static partial void LogProgress(ILogger logger, int done, int total, long events);
}
