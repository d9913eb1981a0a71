using MathNet.Numerics.LinearAlgebra.Storage;
using Recommender.Data;
using Recommender.Numerics;

namespace Recommender.Models;

/// <summary>
/// The user×item matrix of implicit feedback in MathNet's compressed sparse row storage, and
/// its item×user transpose. ALS sweeps read the storage arrays directly as spans.
/// </summary>
public sealed class InteractionMatrix
{
    private InteractionMatrix(SparseCompressedRowMatrixStorage<float> userItems, SparseCompressedRowMatrixStorage<float> itemUsers)
    {
        UserItems = userItems;
        ItemUsers = itemUsers;
    }

    public SparseCompressedRowMatrixStorage<float> UserItems { get; }
    public SparseCompressedRowMatrixStorage<float> ItemUsers { get; }
    public int Users => UserItems.RowCount;
    public int Items => UserItems.ColumnCount;
    public int NonZeros => UserItems.RowPointers[Users];

    /// <summary>Binary feedback: every (user, item) event is a 1 (the log holds each pair once).</summary>
    public static InteractionMatrix FromEvents(EventLog events)
    {
        var values = new float[events.NumEvents];
        values.AsSpan().Fill(1f);
        var cols = new int[events.NumEvents];
        Parallel.For(0, events.NumUsers, Cores.Options(), u =>
        {
            var start = events.UserOffsets[u];
            var row = cols.AsSpan(start, events.CountOf(u));
            events.ItemsOf(u).CopyTo(row);
            row.Sort(); // CSR rows are column-sorted
        });
        return FromCsr(events.NumUsers, events.NumItems, events.UserOffsets, cols, values);
    }

    public static InteractionMatrix FromCsr(int users, int items, int[] rowPointers, int[] columns, float[] values)
    {
        var userItems = Wrap(users, items, rowPointers, columns, values);

        // Transpose by counting sort: rows of the transpose come out column-sorted.
        var offsets = new int[items + 1];
        var nnz = rowPointers[users];
        for (var e = 0; e < nnz; e++)
        {
            offsets[columns[e] + 1]++;
        }

        Csr.CountsToOffsets(offsets);

        var next = offsets[..^1].ToArray();
        var tCols = new int[nnz];
        // Binary feedback (every value the same) transposes to the same values: both sides read
        // one array (nothing writes to it), 760 MB less at full size.
        var uniform = nnz == 0 || values.AsSpan(0, nnz).IndexOfAnyExcept(values[0]) < 0;
        var tVals = uniform ? values : new float[nnz];
        for (var u = 0; u < users; u++)
        {
            for (var e = rowPointers[u]; e < rowPointers[u + 1]; e++)
            {
                var p = next[columns[e]]++;
                tCols[p] = u;
                if (!uniform)
                {
                    tVals[p] = values[e];
                }
            }
        }

        return new InteractionMatrix(userItems, Wrap(items, users, offsets, tCols, tVals));
    }

    private static SparseCompressedRowMatrixStorage<float> Wrap(int rows, int cols, int[] rowPointers, int[] columns, float[] values)
    {
        // Fill MathNet's storage in place instead of OfCompressedSparseRowFormat, which copies
        // (two more gigabytes at full size).
        var storage = SparseCompressedRowMatrixStorage<float>.OfValue(rows, cols, 0f);
        rowPointers.AsSpan().CopyTo(storage.RowPointers);
        storage.ColumnIndices = columns;
        storage.Values = values;
        return storage;
    }
}
