using Recommender.Data;
using Recommender.Models;
using Recommender.Ranking;

namespace Recommender.Pipeline;

/// <summary>The seed's item and user feature tables, written from the ranker's feature context.</summary>
public static class FeatureTables
{
    public static void Write(string dir, EventLog train, FeatureContext features, ArtifactIds ids)
    {
        using (var items = new ParquetOutput(Path.Combine(dir, FileNames.ItemFeatures), Tables.ItemFeatures))
        {
            items.BeginRowGroup();
            items.WriteInt64(ids.Items.RawIds);
            items.WriteInt32(features.NumAlbums);
            items.WriteFloat(features.GenreScoreMean);
            items.WriteInt32(features.Listeners);
            items.WriteFloat(features.PopularityWindow);
            items.WriteFloat(features.Trend);
            items.Commit();
        }

        using var users = new ParquetOutput(Path.Combine(dir, FileNames.UserFeatures), Tables.UserFeatures);
        var n = train.NumUsers;
        var tracks = new int[n];
        var perMonth = new float[n];
        for (var u = 0; u < n; u++)
        {
            tracks[u] = train.CountOf(u);
            perMonth[u] = tracks[u] / (float)Math.Max(1, features.ActiveMonths[u]);
        }

        users.BeginRowGroup();
        users.WriteInt64(ids.Users.RawIds);
        users.WriteInt32(features.ActiveMonths);
        users.WriteInt32(tracks);
        users.WriteFloat(perMonth);
        users.Commit();
    }
}
