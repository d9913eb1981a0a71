using System.Collections.Concurrent;
using Recommender.Data;

namespace Recommender.Serving;

/// <summary>Each user's latest listens, newest last, at most <see cref="OnlineEventLog.RecentPerUser"/>; safe for concurrent use.</summary>
public sealed class RecentListens
{
    private readonly ConcurrentDictionary<long, List<long>> _users = new();

    public void Add(OnlineEvent e)
    {
        var tracks = _users.GetOrAdd(e.UserId, _ => []);
        lock (tracks)
        {
            tracks.Remove(e.TrackId);
            tracks.Add(e.TrackId);
            if (tracks.Count > OnlineEventLog.RecentPerUser)
            {
                tracks.RemoveAt(0);
            }
        }
    }

    public long[] Of(long userId)
    {
        if (!_users.TryGetValue(userId, out var tracks))
        {
            return [];
        }

        lock (tracks)
        {
            return [.. tracks];
        }
    }
}
