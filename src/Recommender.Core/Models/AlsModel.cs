using System.Collections.Concurrent;
using System.Numerics.Tensors;
using MathNet.Numerics.LinearAlgebra;
using MathNet.Numerics.LinearAlgebra.Storage;
using Recommender.Numerics;

namespace Recommender.Models;

public sealed record AlsParameters
{
    /// <summary>The defaults, read by the CLI's help, the service's options and validation: written once, here.</summary>
    public static AlsParameters Default { get; } = new();

    /// <summary>The accepted factors, inclusive (the solver's scratch is sized by factors²).</summary>
    public static (int Min, int Max) FactorsRange { get; } = (1, 1024);

    /// <summary>The accepted iterations, inclusive.</summary>
    public static (int Min, int Max) IterationsRange { get; } = (1, 1000);

    public int Factors { get; init; } = 64;
    public int Iterations { get; init; } = 15;

    /// <summary>Every out-of-range setting, named as the caller names it (a CLI flag or a configuration key).</summary>
    public IEnumerable<string> Validate(string factorsName, string iterationsName, string toleranceName = "ALS tolerance")
    {
        if (Factors < FactorsRange.Min || Factors > FactorsRange.Max)
        {
            yield return $"{factorsName} must be in [{FactorsRange.Min}, {FactorsRange.Max}] (got {Factors})";
        }

        if (Iterations < IterationsRange.Min || Iterations > IterationsRange.Max)
        {
            yield return $"{iterationsName} must be in [{IterationsRange.Min}, {IterationsRange.Max}] (got {Iterations})";
        }

        if (!(Tolerance >= ToleranceRange.Min && Tolerance < ToleranceRange.Max))
        {
            yield return $"{toleranceName} must be in [{ToleranceRange.Min}, {ToleranceRange.Max}) (got {Tolerance})";
        }
    }

    /// <summary>λ, the L2 penalty on both factor matrices.</summary>
    public float Regularization { get; init; } = 0.1f;

    /// <summary>α in the confidence c = 1 + α·r of Hu, Koren and Volinsky.</summary>
    public float Alpha { get; init; } = 10f;

    /// <summary>Conjugate-gradient steps per row and sweep (Takács et al.: 2–4 suffice with warm starts).</summary>
    public int CgSteps { get; init; } = 3;

    public ulong Seed { get; init; } = 42;

    /// <summary>Compute the training loss after each iteration.</summary>
    public bool ComputeLoss { get; init; } = true;

    /// <summary>The accepted tolerances: [0, 1).</summary>
    public static (double Min, double Max) ToleranceRange { get; } = (0, 1);

    /// <summary>
    /// Stop before <see cref="Iterations"/> once an iteration lowers the loss by less than this
    /// fraction of the loss before it (0: always run every iteration; needs <see cref="ComputeLoss"/>).
    /// 1e-4 never stops the real datasets' fits early (their last iterations still gain 1.6e-4 or
    /// more) and ends full-size synthetic fits where the loss is flat to four digits.
    /// </summary>
    public double Tolerance { get; init; } = 1e-4;

    /// <summary>
    /// Above this many users the per-user part of the loss is summed over an evenly spaced sample
    /// and scaled up: exact enough to watch convergence, and a sixth of a sweep cheaper at full size.
    /// </summary>
    public int LossSampleUsers { get; init; } = 200_000;

    /// <summary>
    /// Read the fixed side's factors from a bfloat16 copy during a sweep (accumulating in float32):
    /// half the memory traffic of the gathers that bound a full-size sweep.
    /// </summary>
    public bool Bfloat16Gather { get; init; } = true;
}

public sealed record AlsIteration(int Iteration, double Loss, double Seconds);

/// <summary>
/// Implicit-feedback ALS (Hu, Koren, Volinsky 2008) with the conjugate-gradient row solver of
/// Takács, Pilászy and Tikk (2011). Float32 factors, rows solved in parallel; every row's
/// computation is sequential, so results do not depend on the thread count.
/// </summary>
public sealed class AlsModel
{
    /// <param name="userFactors">users × factors, row-major; ordinary arrays or <see cref="Data.TableMemory"/> blocks, as are the item factors.</param>
    public AlsModel(int factors, ReadOnlyMemory<float> userFactors, ReadOnlyMemory<float> itemFactors, AlsParameters parameters)
    {
        Factors = factors;
        UserFactors = userFactors;
        ItemFactors = itemFactors;
        Parameters = parameters;
    }

    public int Factors { get; }
    public ReadOnlyMemory<float> UserFactors { get; }
    public ReadOnlyMemory<float> ItemFactors { get; }
    public AlsParameters Parameters { get; }
    public int Users => UserFactors.Length / Factors;
    public int Items => ItemFactors.Length / Factors;

    public ReadOnlySpan<float> UserVector(int user) => UserFactors.Span.Slice(user * Factors, Factors);

    public ReadOnlySpan<float> ItemVector(int item) => ItemFactors.Span.Slice(item * Factors, Factors);

    public float Score(int user, int item) => TensorPrimitives.Dot(UserVector(user), ItemVector(item));

    /// <param name="continueFrom">
    /// Start from these factors instead of seeded noise (a warm start: a model fitted on a prefix of
    /// the same events needs a few iterations, not a full fit). Its arrays are taken over, not
    /// copied, since at full size they are 600 MB: the model passed here must not be used again.
    /// </param>
    public static AlsModel Fit(InteractionMatrix matrix, AlsParameters p, Action<AlsIteration>? onIteration = null, CancellationToken cancellation = default, AlsModel? continueFrom = null)
    {
        var f = p.Factors;
        float[] users, items;
        if (continueFrom is not null)
        {
            if (continueFrom.Factors != f || continueFrom.Users != matrix.Users || continueFrom.Items != matrix.Items)
            {
                throw new ArgumentException($"a warm start needs {matrix.Users} users × {matrix.Items} items × {f} factors, got {continueFrom.Users} × {continueFrom.Items} × {continueFrom.Factors}", nameof(continueFrom));
            }

            (users, items) = (Writable(continueFrom.UserFactors), Writable(continueFrom.ItemFactors));
        }
        else
        {
            var rng = new Rng(p.Seed);
            users = new float[matrix.Users * f];
            items = new float[matrix.Items * f];
            var scale = 0.01f;
            rng.FillGaussian(items, scale);
            rng.FillGaussian(users, scale);
        }

        var model = new AlsModel(f, users, items, p);
        var shadow = p.Bfloat16Gather ? new ushort[Math.Max(users.Length, items.Length)] : null;
        var scratch = new ConcurrentBag<RowScratch>(); // the fit's per-worker buffers, freed with it
        var watch = System.Diagnostics.Stopwatch.StartNew();
        var previousLoss = double.NaN;
        for (var it = 1; it <= p.Iterations; it++)
        {
            cancellation.ThrowIfCancellationRequested();
            Sweep(matrix, matrix.UserItems, items, users, f, p, shadow, scratch);
            cancellation.ThrowIfCancellationRequested();
            Sweep(matrix, matrix.ItemUsers, users, items, f, p, shadow, scratch);
            var loss = p.ComputeLoss ? model.Loss(matrix) : double.NaN;
            onIteration?.Invoke(new AlsIteration(it, loss, watch.Elapsed.TotalSeconds));
            if (Converged(previousLoss, loss, p.Tolerance))
            {
                break;
            }

            previousLoss = loss;
        }

        return model;
    }

    /// <summary>The array behind a warm start's factors, taken over; a copy when they are not one whole array (a loaded snapshot's, outside the GC heap).</summary>
    private static float[] Writable(ReadOnlyMemory<float> factors) =>
        System.Runtime.InteropServices.MemoryMarshal.TryGetArray(factors, out var segment) && segment.Offset == 0 && segment.Count == segment.Array!.Length
            ? segment.Array
            : factors.ToArray();

    /// <summary>True once the loss fell by less than <paramref name="tolerance"/> of the previous one (never without two losses).</summary>
    internal static bool Converged(double previous, double loss, double tolerance) =>
        tolerance > 0 && double.IsFinite(previous) && double.IsFinite(loss) && previous - loss < tolerance * Math.Abs(previous);

    /// <summary>
    /// Rows with at most this many floats of opposite factors (16 MB) are gathered once into a
    /// per-thread buffer; longer rows (the few most-played tracks) are read in place at every step.
    /// </summary>
    internal const int MaxGatheredFloats = 4 << 20;

    /// <summary>Solves every row of <paramref name="target"/> (the rows of <paramref name="rows"/>, one side of <paramref name="matrix"/>) given the fixed <paramref name="fixedFactors"/>.</summary>
    internal static void Sweep(InteractionMatrix matrix, SparseCompressedRowMatrixStorage<float> rows, float[] fixedFactors, float[] target, int f, AlsParameters p, ushort[]? shadow = null, ConcurrentBag<RowScratch>? scratchPool = null)
    {
        var gram = DenseKernels.Gram(fixedFactors, f, p.Regularization);
        if (shadow is not null)
        {
            const int Chunk = 1 << 20;
            Parallel.For(0, (fixedFactors.Length + Chunk - 1) / Chunk, Cores.Options(), c =>
            {
                var start = c * Chunk;
                var length = Math.Min(Chunk, fixedFactors.Length - start);
                AlsKernels.ToBfloat16(fixedFactors.AsSpan(start, length), shadow.AsSpan(start, length));
            });
        }

        var pointers = rows.RowPointers;
        var columns = rows.ColumnIndices;
        // Workers take buffers from the caller's pool and put them back: Parallel.For may start a
        // fresh task (and run localInit) many times per sweep, and the gathered buffer grows to 16 MB.
        var pool = scratchPool ?? [];
        Parallel.For(0, rows.RowCount, Cores.Options(), () => pool.TryTake(out var taken) && taken.Factors == f ? taken : new RowScratch(f), (r, _, scratch) =>
        {
            var start = pointers[r];
            var count = pointers[r + 1] - start;
            SolveRow(target.AsSpan(r * f, f), columns.AsSpan(start, count), matrix.ValuesOf(rows, start, count), fixedFactors, shadow, gram, p.Alpha, p.CgSteps, scratch);
            return scratch;
        }, pool.Add);
    }

    /// <summary>One thread's buffers: the CG vectors and the gathered opposite factors.</summary>
    internal sealed class RowScratch(int f)
    {
        public int Factors => f;
        public float[] Vectors { get; } = new float[3 * f];
        private float[] _gathered = new float[256 * f];

        public Span<float> Gathered(int floats)
        {
            if (_gathered.Length < floats)
            {
                _gathered = new float[Math.Max(floats, _gathered.Length * 2)];
            }

            return _gathered.AsSpan(0, floats);
        }
    }

    /// <summary>
    /// A few conjugate-gradient steps on (YᵀY + λI + Yᵀ(Cᵤ−I)Y) x = YᵀCᵤp, starting from the current x.
    /// The row's opposite factors are gathered once (one random read per non-zero) and every
    /// step then streams them from cache.
    /// </summary>
    internal static void SolveRow(Span<float> x, ReadOnlySpan<int> cols, ReadOnlySpan<float> vals, float[] y, ushort[]? yBfloat16, float[] gram, float alpha, int steps, RowScratch scratch)
    {
        var f = x.Length;
        var r = scratch.Vectors.AsSpan(0, f);
        var d = scratch.Vectors.AsSpan(f, f);
        var ad = scratch.Vectors.AsSpan(2 * f, f);
        var gather = (long)cols.Length * f <= MaxGatheredFloats;
        var rows = gather ? scratch.Gathered(cols.Length * f) : default;
        if (gather && yBfloat16 is not null)
        {
            AlsKernels.GatherBfloat16(yBfloat16, f, cols, rows);
        }
        else if (gather)
        {
            AlsKernels.Gather(y, f, cols, rows);
        }

        // r = b − A·x
        AlsKernels.SymmetricMatVec(gram, x, r);
        TensorPrimitives.Negate(r, r);
        Accumulate(gather, rows, y, f, cols, vals, alpha, x, r, residual: true);

        r.CopyTo(d);
        var rsOld = TensorPrimitives.Dot(r, r);
        for (var step = 0; step < steps && rsOld > 1e-20f; step++)
        {
            AlsKernels.SymmetricMatVec(gram, d, ad);
            Accumulate(gather, rows, y, f, cols, vals, alpha, d, ad, residual: false);

            var curvature = TensorPrimitives.Dot(d, ad);
            if (curvature <= 0)
            {
                break;
            }

            var a = rsOld / curvature;
            TensorPrimitives.MultiplyAdd(d, a, x, x);
            TensorPrimitives.MultiplyAdd(ad, -a, r, r);
            var rsNew = TensorPrimitives.Dot(r, r);
            TensorPrimitives.MultiplyAdd(d, rsNew / rsOld, r, d);
            rsOld = rsNew;
        }

    }

    private static void Accumulate(bool gathered, ReadOnlySpan<float> rows, float[] y, int f, ReadOnlySpan<int> cols, ReadOnlySpan<float> vals, float alpha, ReadOnlySpan<float> v, Span<float> acc, bool residual)
    {
        if (gathered)
        {
            AlsKernels.AccumulateGathered(rows, f, vals, alpha, v, acc, residual);
        }
        else
        {
            AlsKernels.Accumulate(y, f, cols, vals, alpha, v, acc, residual);
        }
    }

    /// <summary>
    /// Σᵤᵢ cᵤᵢ (pᵤᵢ − xᵤ·yᵢ)² + λ(‖X‖² + ‖Y‖²) over all pairs, computed as the dense term
    /// Σᵤ xᵤᵀ(YᵀY)xᵤ plus corrections on the non-zeros; summed in a fixed order.
    /// </summary>
    public double Loss(InteractionMatrix matrix)
    {
        var f = Factors;
        var gram = DenseKernels.Gram(ItemFactors, f, 0);
        var rows = matrix.UserItems;
        var binary = matrix.IsBinary;
        // Every stride-th user; stride 1 (exact) up to LossSampleUsers users.
        var stride = Math.Max(1, (matrix.Users + Parameters.LossSampleUsers - 1) / Math.Max(1, Parameters.LossSampleUsers));
        var sampled = (matrix.Users + stride - 1) / stride;
        const int Chunk = 4096;
        var chunks = (sampled + Chunk - 1) / Chunk;
        var partial = new double[chunks];
        var alpha = Parameters.Alpha;
        Parallel.For(0, chunks, Cores.Options(), ch =>
        {
            var tmp = new float[f];
            double sum = 0;
            var end = Math.Min(sampled, (ch + 1) * Chunk);
            for (var k = ch * Chunk; k < end; k++)
            {
                var u = k * stride;
                var x = UserVector(u);
                DenseKernels.MatVec(gram, x, tmp);
                sum += TensorPrimitives.Dot(x, tmp);
                for (var e = rows.RowPointers[u]; e < rows.RowPointers[u + 1]; e++)
                {
                    var s = TensorPrimitives.Dot(x, ItemVector(rows.ColumnIndices[e]));
                    var c = 1 + (alpha * (binary ? 1f : rows.Values[e]));
                    sum += (c * (1 - s) * (1 - s)) - (s * s);
                }
            }

            partial[ch] = sum;
        });
        var total = 0.0;
        foreach (var v in partial)
        {
            total += v;
        }

        total *= matrix.Users / (double)sampled;

        var reg = (double)TensorPrimitives.SumOfSquares(UserFactors.Span) + TensorPrimitives.SumOfSquares(ItemFactors.Span);
        return total + (Parameters.Regularization * reg);
    }

    /// <summary>
    /// The exact ALS user vector for a history the model never saw (online fold-in): one dense
    /// f×f solve of (YᵀY + λI + Σ(c−1)yyᵀ) x = Σ c y.
    /// </summary>
    public float[] FoldIn(ReadOnlySpan<int> items, float[]? gram = null)
    {
        var f = Factors;
        gram ??= DenseKernels.Gram(ItemFactors, f, Parameters.Regularization);
        var a = Matrix<double>.Build.Dense(f, f, (i, j) => gram[(i * f) + j]);
        var b = Vector<double>.Build.Dense(f);
        var c = 1 + Parameters.Alpha;
        foreach (var item in items)
        {
            var y = ItemVector(item);
            for (var i = 0; i < f; i++)
            {
                b[i] += c * y[i];
                for (var j = 0; j < f; j++)
                {
                    a[i, j] += (c - 1) * y[i] * y[j];
                }
            }
        }

        var x = a.Cholesky().Solve(b);
        return x.Select(v => (float)v).ToArray();
    }

    public void Save(string path) =>
        Data.BinaryArtifact.Write(path, Format,
            [Factors, Users, Items, Parameters.Iterations, BitConverter.SingleToInt32Bits(Parameters.Regularization), BitConverter.SingleToInt32Bits(Parameters.Alpha), Parameters.CgSteps, unchecked((long)Parameters.Seed)],
            w =>
            {
                w.Array<float>(UserFactors.Span);
                w.Array<float>(ItemFactors.Span);
            });

    /// <param name="memory">where the factors go; null: ordinary arrays.</param>
    public static AlsModel Load(string path, Data.TableMemory? memory = null)
    {
        using var r = Data.BinaryArtifact.Open(path, Format);
        var f = r.HeaderInt(0, "factors", 1, 4096);
        var users = r.HeaderInt(1, "users");
        var items = r.HeaderInt(2, "items");
        var p = new AlsParameters
        {
            Factors = f,
            Iterations = r.HeaderInt(3, "iterations"),
            Regularization = BitConverter.Int32BitsToSingle((int)r.Header[4]),
            Alpha = BitConverter.Int32BitsToSingle((int)r.Header[5]),
            CgSteps = r.HeaderInt(6, "CG steps"),
            Seed = unchecked((ulong)r.Header[7]),
        };
        var uf = r.Array<float>((long)users * f, "user factors", memory ?? Data.TableMemory.Managed);
        var itf = r.Array<float>((long)items * f, "item factors", memory ?? Data.TableMemory.Managed);
        r.End();
        return new AlsModel(f, uf, itf, p);
    }

    /// <summary>als_model.bin: header factors, users, items, iterations, λ and α (float bits), CG steps, seed; then user and item factors.</summary>
    public static Data.BinaryFormat Format { get; } = new("an ALS model", 0x534C4131, 2, 8); // "1ALS"
}
