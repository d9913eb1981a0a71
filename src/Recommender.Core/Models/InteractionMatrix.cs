using MathNet.Numerics.LinearAlgebra.Storage;
using Recommender.Data;
using Recommender.Numerics;

namespace Recommender.Models;

/// <summary>
/// The user×item matrix of implicit feedback in MathNet's compressed sparse row storage, and
/// its item×user transpose. ALS sweeps read the storage arrays directly as spans. Binary
/// feedback (every stored entry a 1, the listening log's case) keeps no value array: the
/// storages' Values are empty and <see cref="Ones"/> stands in for any row's values, 4 bytes
/// per event of the fit less (up to 890 MB at full size) while the confidence stays a function of the pattern.
/// </summary>
public sealed class InteractionMatrix
{
    private InteractionMatrix(SparseCompressedRowMatrixStorage<float> userItems, SparseCompressedRowMatrixStorage<float> itemUsers, float[]? ones)
    {
        UserItems = userItems;
        ItemUsers = itemUsers;
        Ones = ones;
    }

    /// <summary>Binary: 1s as long as the longest row of either side, each row's values; null where values are stored.</summary>
    public float[]? Ones { get; }

    public bool IsBinary => Ones is not null;

    /// <summary>The values of entries <paramref name="start"/>..+<paramref name="count"/> of <paramref name="side"/> (one row's).</summary>
    public ReadOnlySpan<float> ValuesOf(SparseCompressedRowMatrixStorage<float> side, int start, int count) =>
        Ones is { } ones ? ones.AsSpan(0, count) : side.Values.AsSpan(start, count);

    public SparseCompressedRowMatrixStorage<float> UserItems { get; }
    public SparseCompressedRowMatrixStorage<float> ItemUsers { get; }
    public int Users => UserItems.RowCount;
    public int Items => UserItems.ColumnCount;
    public int NonZeros => UserItems.RowPointers[Users];

    /// <summary>Binary feedback: every (user, item) event is a 1 (the log holds each pair once); no value array.</summary>
    public static InteractionMatrix FromEvents(EventLog events)
    {
        var cols = new int[events.NumEvents];
        var rowPointers = new int[events.NumUsers + 1];
        for (var u = 0; u < events.NumUsers; u++)
        {
            rowPointers[u + 1] = rowPointers[u] + events.CountOf(u);
        }

        Parallel.For(0, events.NumUsers, Cores.Options(), u =>
        {
            var row = cols.AsSpan(rowPointers[u], events.CountOf(u));
            events.ItemsOf(u).CopyTo(row);
            row.Sort(); // CSR rows are column-sorted
        });
        return FromCsr(events.NumUsers, events.NumItems, rowPointers, cols, values: null);
    }

    /// <param name="values">each entry's value; null: binary (every entry a 1, no array kept).</param>
    public static InteractionMatrix FromCsr(int users, int items, int[] rowPointers, int[] columns, float[]? values)
    {
        var userItems = Wrap(users, items, rowPointers, columns, values);

        // Transpose by counting sort: rows of the transpose come out column-sorted. Each core
        // counts and places one contiguous range of users; a track's entries from the range of
        // lower users go first, so every row lists its users ascending, as one pass would.
        var nnz = rowPointers[users];
        var parts = Math.Max(1, Math.Min(Cores.Count, users));
        var partStart = new int[parts + 1];
        for (int part = 1, u = 0; part < parts; part++)
        {
            // Equal shares of the non-zeros, not of the users.
            var target = (long)nnz * part / parts;
            while (u < users && rowPointers[u] < target)
            {
                u++;
            }

            partStart[part] = u;
        }

        partStart[parts] = users;
        var next = new int[parts][];
        Parallel.For(0, parts, Cores.Options(), part =>
        {
            var counts = new int[items];
            for (var e = rowPointers[partStart[part]]; e < rowPointers[partStart[part + 1]]; e++)
            {
                counts[columns[e]]++;
            }

            next[part] = counts;
        });

        var offsets = new int[items + 1];
        for (var i = 0; i < items; i++)
        {
            var at = offsets[i];
            for (var part = 0; part < parts; part++)
            {
                var count = next[part][i];
                next[part][i] = at; // from here on: where the part's next entry of track i goes
                at += count;
            }

            offsets[i + 1] = at;
        }

        var tCols = new int[nnz];
        // Uniform values transpose to the same values: both sides read one array (nothing writes to it).
        var uniform = values is null || nnz == 0 || values.AsSpan(0, nnz).IndexOfAnyExcept(values[0]) < 0;
        var tVals = uniform ? values : new float[nnz];
        Parallel.For(0, parts, Cores.Options(), part =>
        {
            var place = next[part];
            for (var u = partStart[part]; u < partStart[part + 1]; u++)
            {
                for (var e = rowPointers[u]; e < rowPointers[u + 1]; e++)
                {
                    var p = place[columns[e]]++;
                    tCols[p] = u;
                    if (!uniform)
                    {
                        tVals![p] = values![e];
                    }
                }
            }
        });

        float[]? ones = null;
        if (values is null)
        {
            var longest = 0;
            for (var u = 0; u < users; u++)
            {
                longest = Math.Max(longest, rowPointers[u + 1] - rowPointers[u]);
            }

            for (var i = 0; i < items; i++)
            {
                longest = Math.Max(longest, offsets[i + 1] - offsets[i]);
            }

            ones = new float[longest];
            ones.AsSpan().Fill(1f);
        }

        return new InteractionMatrix(userItems, Wrap(items, users, offsets, tCols, tVals), ones);
    }

    private static SparseCompressedRowMatrixStorage<float> Wrap(int rows, int cols, int[] rowPointers, int[] columns, float[]? values)
    {
        // Fill MathNet's storage in place instead of OfCompressedSparseRowFormat, which copies
        // (two more gigabytes at full size).
        var storage = SparseCompressedRowMatrixStorage<float>.OfValue(rows, cols, 0f);
        rowPointers.AsSpan().CopyTo(storage.RowPointers);
        storage.ColumnIndices = columns;
        storage.Values = values ?? []; // binary: no values (see Ones)
        return storage;
    }
}
