using Recommender.Data;
using Recommender.Numerics;

namespace Recommender.Models;

/// <summary>The EASE build: a dense inverse over the catalog's most listened tracks.</summary>
public sealed partial class ItemKnnModel
{
    /// <summary>
    /// EASE (Steck 2019): B = I − P·diag(1/diag P) with P = (XᵀX + λI)⁻¹ over the tracks with a
    /// listener (the EaseMaxItems most listened), X the binary user × track matrix of each user's window. B[i, j] is how much having
    /// heard i predicts j; each row keeps its Neighbors largest positive entries, so scoring is the
    /// same sum over the history as the cosine's.
    /// </summary>
    private static ItemKnnModel FitEase(EventLog train, ItemKnnParameters p, float lambda, CancellationToken cancellation)
    {
        var (userStart, _) = UserWindows(train, WindowWithinBudget(train, p.MaxUserItems, p.PairBudget));

        // The EaseMaxItems tracks with the most listeners (ties to the lower index); the rest get no row.
        var listeners = new int[train.NumItems];
        for (var u = 0; u < train.NumUsers; u++)
        {
            for (int e = userStart[u], end = train.End(u); e < end; e++)
            {
                listeners[train.Items[e]]++;
            }
        }

        var global = Enumerable.Range(0, train.NumItems).Where(i => listeners[i] > 0)
            .OrderByDescending(i => listeners[i]).ThenBy(i => i).Take(p.EaseMaxItems).Order().ToArray();
        var local = new int[train.NumItems];
        Array.Fill(local, -1);
        for (var a = 0; a < global.Length; a++)
        {
            local[global[a]] = a;
        }

        var m = global.Length;

        // Gram matrix of the binary matrix: a track heard twice by a user counts once.
        var gram = new double[(long)m * m];
        var seen = new bool[m];
        var row = new List<int>();
        for (var u = 0; u < train.NumUsers; u++)
        {
            row.Clear();
            for (int e = userStart[u], end = train.End(u); e < end; e++)
            {
                var a = local[train.Items[e]];
                if (a >= 0 && !seen[a])
                {
                    seen[a] = true;
                    row.Add(a);
                }
            }

            foreach (var a in row)
            {
                seen[a] = false;
                foreach (var b in row)
                {
                    gram[((long)a * m) + b] += 1;
                }
            }
        }

        for (var d = 0; d < m; d++)
        {
            gram[((long)d * m) + d] += lambda;
        }

        cancellation.ThrowIfCancellationRequested();
        var inverse = SymmetricInverse.Invert(gram, m, cancellation);
        var table = new ScoredListsBuilder(train.NumItems, null, p.Neighbors);
        Parallel.For(0, m, Cores.Options(cancellation), () => (Top: new TopK(p.Neighbors), Buffer: new ScoredItem[p.Neighbors]), (a, _, t) =>
        {
            var pa = inverse.AsSpan((int)((long)a * m), m);
            for (var b = 0; b < m; b++)
            {
                // B[a, b] = −P[a, b] / P[b, b]; the diagonal is zero.
                var weight = -pa[b] / inverse[((long)b * m) + b];
                if (b != a && weight > 0)
                {
                    t.Top.Add(global[b], (float)weight);
                }
            }

            var got = t.Top.Drain(t.Buffer);
            table.Set(global[a], t.Buffer.AsSpan(0, got));
            return t;
        }, _ => { });
        var (o, it, sc) = table.Pack();
        return new ItemKnnModel(new NeighborTable(o, it, sc), p);
    }
}
