namespace Recommender.Pipeline;

public sealed record Distribution(long Min, double Mean, long Q25, long Median, long Q75, long P90, long P99, long Max)
{
    /// <summary>Nearest-rank quantiles of a sample.</summary>
    public static Distribution Of(int[] values)
    {
        if (values.Length == 0)
        {
            return new Distribution(0, 0, 0, 0, 0, 0, 0, 0);
        }

        var sorted = (int[])values.Clone();
        Array.Sort(sorted);
        long Q(double q) => sorted[Math.Clamp((int)Math.Ceiling(q * sorted.Length) - 1, 0, sorted.Length - 1)];
        return new Distribution(sorted[0], sorted.Average(v => (double)v), Q(0.25), Q(0.5), Q(0.75), Q(0.9), Q(0.99), sorted[^1]);
    }
}
