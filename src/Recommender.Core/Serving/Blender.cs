using System.Buffers;
using Recommender.Models;
using Recommender.Numerics;

namespace Recommender.Serving;

/// <summary>
/// Online + offline blending for one request: online results (neighbours of the listens logged
/// since the snapshot) merge with the offline personal list by the chosen strategy; a user the
/// model never saw gets personal results from an ALS fold-in of the online listens; popular
/// tracks fill the rest. Nothing the user heard (history or online) and no duplicate is returned.
/// </summary>
public static class Blender
{
    /// <summary>The fusion constant of reciprocal-rank fusion (Cormack et al. 2009).</summary>
    private const float FusionK = 60;

    /// <summary>Buffers up to this many entries live on the stack; longer requests rent from the shared pool.</summary>
    private const int StackLimit = 256;

    public static List<BlendedItem> Recommend(ServingSnapshot snapshot, long userId, ReadOnlySpan<int> online, int k, BlendChoice choice)
    {
        var result = new BlendedItem[k];
        return [.. result.AsSpan(0, Recommend(snapshot, userId, online, choice, result))];
    }

    /// <summary>Writes up to destination.Length items; returns how many. Allocates nothing for a warm user with k ≤ 256.</summary>
    public static int Recommend(ServingSnapshot snapshot, long userId, ReadOnlySpan<int> online, BlendChoice choice, Span<BlendedItem> destination)
    {
        var user = snapshot.Users.IndexOf(userId);
        return Recommend(snapshot.Sources, user, snapshot.HistoryOf(user), online, IsWarm(snapshot.Sources, user) ? choice.Warm : choice.Cold, destination);
    }

    /// <summary>Whether the offline personal list has the user: the warm side of a <see cref="BlendChoice"/>.</summary>
    public static bool IsWarm(BlendSources sources, int user) => (uint)user < (uint)sources.Personal.Rows && sources.Personal.ItemsOf(user).Length > 0;

    /// <param name="user">the dense user index, or −1 for a user the offline lists do not know.</param>
    /// <param name="history">the user's offline listens.</param>
    public static List<BlendedItem> Recommend(BlendSources sources, int user, ReadOnlySpan<int> history, ReadOnlySpan<int> online, int k, BlendStrategy strategy)
    {
        var result = new BlendedItem[k];
        return [.. result.AsSpan(0, Recommend(sources, user, history, online, strategy, result))];
    }

    /// <summary>The blend into <paramref name="destination"/> (k = its length); returns how many items were written.</summary>
    public static int Recommend(BlendSources sources, int user, ReadOnlySpan<int> history, ReadOnlySpan<int> online, BlendStrategy strategy, Span<BlendedItem> destination)
    {
        var k = destination.Length;
        ScoredItem[]? rentedOnline = null, rentedFolded = null;
        int[]? rentedHeard = null;
        try
        {
            // The models first: they use the per-thread exclusion mask that `seen` below takes over.
            // Online: neighbours of the latest online listens.
            var useOnline = online.Length > 0 && strategy != BlendStrategy.OfflineOnly;
            var onlineList = !useOnline ? [] : k <= StackLimit ? stackalloc ScoredItem[k] : (rentedOnline = ArrayPool<ScoredItem>.Shared.Rent(k)).AsSpan(0, k);
            var onlineCount = useOnline ? sources.SimilarToRecent.Recommend(-1, online, k, onlineList) : 0;

            // Personal: the offline list read in place, or a fold-in for a user the model has not seen.
            var personal = new PersonalList(sources, user);
            if (!IsWarm(sources, user) && online.Length > 0 && strategy != BlendStrategy.OfflineOnly)
            {
                var vector = sources.Als.Model.FoldIn(online, sources.Gram);
                rentedHeard = ArrayPool<int>.Shared.Rent(history.Length + online.Length);
                history.CopyTo(rentedHeard);
                online.CopyTo(rentedHeard.AsSpan(history.Length));
                rentedFolded = ArrayPool<ScoredItem>.Shared.Rent(k);
                var n = sources.Als.RecommendFor(vector, rentedHeard.AsSpan(0, history.Length + online.Length), k, rentedFolded);
                personal = new PersonalList(rentedFolded.AsSpan(0, n));
            }

            var seen = new SeenItems(sources.Masks, history, online);
            try
            {
                var count = strategy == BlendStrategy.RankFusion
                    ? Fuse(onlineList[..onlineCount], personal, sources.Popular.Items.AsSpan(0, Math.Min(sources.Popular.Items.Length, 4 * k)), seen, destination)
                    : Interleave(onlineList[..onlineCount], personal, seen, destination);

                var popular = sources.Popular;
                for (var r = 0; r < popular.Items.Length && count < k; r++)
                {
                    if (seen.Add(popular.Items[r]))
                    {
                        destination[count++] = new BlendedItem(popular.Items[r], popular.Users[r] / (float)Math.Max(1, popular.Users[0]), RecommendationSource.Popular);
                    }
                }

                // A long list from a heavy listener: any unheard track, in index order.
                for (var i = 0; i < sources.NumItems && count < k; i++)
                {
                    if (seen.Add(i))
                    {
                        destination[count++] = new BlendedItem(i, 0, RecommendationSource.Popular);
                    }
                }

                return count;
            }
            finally
            {
                seen.Release(history, online, destination);
            }
        }
        finally
        {
            Return(rentedOnline);
            Return(rentedFolded);
            if (rentedHeard is not null)
            {
                ArrayPool<int>.Shared.Return(rentedHeard);
            }
        }
    }

    private static void Return(ScoredItem[]? rented)
    {
        if (rented is not null)
        {
            ArrayPool<ScoredItem>.Shared.Return(rented);
        }
    }

    /// <summary>Odd positions online, even positions personal, each falling back to the other.</summary>
    private static int Interleave(ReadOnlySpan<ScoredItem> online, PersonalList personal, SeenItems seen, Span<BlendedItem> destination)
    {
        int o = 0, p = 0, count = 0;
        while (count < destination.Length && (o < online.Length || p < personal.Length))
        {
            var takeOnline = o < online.Length && (count % 2 == 0 || p >= personal.Length);
            var next = takeOnline ? new BlendedItem(online[o].Item, online[o++].Score, RecommendationSource.Online) : new BlendedItem(personal.Item(p), personal.Score(p++), RecommendationSource.Personal);
            if (seen.Add(next.Item))
            {
                destination[count++] = next;
            }
        }

        return count;
    }

    /// <summary>
    /// Reciprocal-rank fusion of the lists; a track keeps the source whose rank gave it the most.
    /// Best fused score first; ties go to the track that entered first (online, then personal,
    /// then popular order). The entries are merged by sorting, not in a dictionary: no allocation.
    /// </summary>
    private static int Fuse(ReadOnlySpan<ScoredItem> online, PersonalList personal, ReadOnlySpan<int> popular, SeenItems seen, Span<BlendedItem> destination)
    {
        var total = online.Length + personal.Length + popular.Length;
        FuseEntry[]? rented = null;
        var entries = total <= StackLimit ? stackalloc FuseEntry[total] : (rented = ArrayPool<FuseEntry>.Shared.Rent(total)).AsSpan(0, total);
        try
        {
            var n = 0;
            for (var r = 0; r < online.Length; r++, n++)
            {
                entries[n] = new FuseEntry(online[r].Item, Share(r), RecommendationSource.Online, n);
            }

            for (var r = 0; r < personal.Length; r++, n++)
            {
                entries[n] = new FuseEntry(personal.Item(r), Share(r), RecommendationSource.Personal, n);
            }

            for (var r = 0; r < popular.Length; r++, n++)
            {
                entries[n] = new FuseEntry(popular[r], Share(r), RecommendationSource.Popular, n);
            }

            // Group each track's entries in the order they were added, then sum them in that order.
            entries.Sort(static (a, b) => a.Item != b.Item ? a.Item.CompareTo(b.Item) : a.Order.CompareTo(b.Order));
            var merged = 0;
            for (var start = 0; start < n;)
            {
                var first = entries[start];
                float score = first.Share, best = first.Share;
                var source = first.Source;
                var end = start + 1;
                for (; end < n && entries[end].Item == first.Item; end++)
                {
                    score += entries[end].Share;
                    if (entries[end].Share > best)
                    {
                        (best, source) = (entries[end].Share, entries[end].Source);
                    }
                }

                entries[merged++] = first with { Share = score, Source = source };
                start = end;
            }

            var fused = entries[..merged];
            fused.Sort(static (a, b) => a.Share != b.Share ? b.Share.CompareTo(a.Share) : a.Order.CompareTo(b.Order));
            var count = 0;
            foreach (var e in fused)
            {
                if (count >= destination.Length)
                {
                    break;
                }

                if (seen.Add(e.Item))
                {
                    destination[count++] = new BlendedItem(e.Item, e.Share, e.Source);
                }
            }

            return count;
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<FuseEntry>.Shared.Return(rented);
            }
        }
    }

    private static float Share(int rank) => 1 / (FusionK + rank + 1);

    /// <summary>One list's vote for a track: its 1/(60 + rank) share, the list, and the order it was added in.</summary>
    private readonly record struct FuseEntry(int Item, float Share, RecommendationSource Source, int Order);

    /// <summary>The personal list as parallel item and score spans: the table's row in place, or a fold-in's results.</summary>
    private readonly ref struct PersonalList
    {
        private readonly ReadOnlySpan<int> _items;
        private readonly ReadOnlySpan<float> _scores;
        private readonly ReadOnlySpan<ScoredItem> _folded;

        public PersonalList(BlendSources sources, int user)
        {
            if (IsWarm(sources, user))
            {
                _items = sources.Personal.ItemsOf(user);
                _scores = sources.Personal.ScoresOf(user);
            }
        }

        public PersonalList(ReadOnlySpan<ScoredItem> folded) => _folded = folded;

        public int Length => _folded.IsEmpty ? _items.Length : _folded.Length;

        public int Item(int r) => _folded.IsEmpty ? _items[r] : _folded[r].Item;

        public float Score(int r) => _folded.IsEmpty ? _scores[r] : _folded[r].Score;
    }

    /// <summary>
    /// The tracks a request may no longer return (heard, or already returned), on a pooled
    /// catalog mask instead of a per-request hash set; <see cref="Release"/> clears exactly what was set.
    /// </summary>
    private readonly struct SeenItems
    {
        private readonly ExclusionMasks _masks;
        private readonly bool[] _mask;

        public SeenItems(ExclusionMasks masks, ReadOnlySpan<int> history, ReadOnlySpan<int> online)
        {
            _masks = masks;
            _mask = masks.Rent(history);
            foreach (var i in online)
            {
                if ((uint)i < (uint)_mask.Length)
                {
                    _mask[i] = true;
                }
            }
        }

        /// <summary>Marks <paramref name="item"/>; false when it was marked already.</summary>
        public bool Add(int item)
        {
            if ((uint)item >= (uint)_mask.Length || _mask[item])
            {
                return false;
            }

            _mask[item] = true;
            return true;
        }

        public void Release(ReadOnlySpan<int> history, ReadOnlySpan<int> online, ReadOnlySpan<BlendedItem> returned)
        {
            ExclusionMasks.Mark(_mask, online, false);
            foreach (var item in returned)
            {
                if ((uint)item.Item < (uint)_mask.Length)
                {
                    _mask[item.Item] = false;
                }
            }

            _masks.Return(_mask, history);
        }
    }
}
