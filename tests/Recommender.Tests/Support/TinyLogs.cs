using Recommender.Data;

namespace Recommender.Tests.Support;

public static class TinyLogs
{
    /// <summary>An event log from per-user item lists (user raw ids 1..n; days = position in the list).</summary>
    public static EventLog FromUserItems(int items, int[][] users)
    {
        var offsets = new int[users.Length + 1];
        for (var u = 0; u < users.Length; u++)
        {
            offsets[u + 1] = offsets[u] + users[u].Length;
        }

        var flat = users.SelectMany(x => x).ToArray();
        var seqs = users.SelectMany(x => Enumerable.Range(0, x.Length)).ToArray();
        return new EventLog(IdMap.FromSorted([.. Enumerable.Range(1, users.Length).Select(i => (long)i)]), items, offsets, flat, [.. seqs.Select(d => (ushort)d)], seqs);
    }
}
