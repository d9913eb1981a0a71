using Recommender.Data;

namespace Recommender.Pipeline;

/// <summary>PNG charts for the reports (ScottPlot renders; files are written atomically).</summary>
public static class Charts
{
    private const int Width = 900;
    private const int Height = 450;

    public static void Monthly(string path, IReadOnlyList<MonthActivity> months)
    {
        var plot = new ScottPlot.Plot();
        var positions = Enumerable.Range(0, months.Count).Select(i => (double)i).ToArray();
        var bars = plot.Add.Bars(positions, months.Select(m => m.Events / 1e6).ToArray());
        bars.LegendText = "events, millions";
        var users = plot.Add.Scatter(positions, months.Select(m => m.Users / 1e5).ToArray());
        users.LegendText = "active users, x100k";
        plot.Axes.Bottom.SetTicks(positions, months.Select(m => m.Month).ToArray());
        plot.Title("Monthly activity");
        plot.ShowLegend();
        Save(plot, path);
    }

    /// <summary>Counts in log2 bins: bin k holds values in [2^k, 2^(k+1)).</summary>
    public static void LogHistogram(string path, string title, int[] values)
    {
        var bins = new double[32];
        foreach (var v in values)
        {
            if (v > 0)
            {
                bins[31 - int.LeadingZeroCount(v)]++;
            }
        }

        var used = Math.Max(1, Array.FindLastIndex(bins, b => b > 0) + 1);
        var plot = new ScottPlot.Plot();
        var positions = Enumerable.Range(0, used).Select(i => (double)i).ToArray();
        plot.Add.Bars(positions, bins[..used]);
        plot.Axes.Bottom.SetTicks(positions, positions.Select(p => $"{1L << (int)p}").ToArray());
        plot.Title($"{title} (log2 bins)");
        plot.YLabel("count");
        Save(plot, path);
    }

    public static void TopBars(string path, string title, IReadOnlyList<NamedCount> rows)
    {
        var plot = new ScottPlot.Plot();
        var positions = Enumerable.Range(0, rows.Count).Select(i => (double)i).ToArray();
        plot.Add.Bars(positions, rows.Select(r => (double)r.Count).ToArray());
        plot.Axes.Bottom.SetTicks(positions, rows.Select(r => r.Name).ToArray());
        plot.Title(title);
        Save(plot, path);
    }

    /// <summary>Lines over a shared x axis, one per named series (the soak run's samples).</summary>
    public static void Lines(string path, string title, string xLabel, string yLabel, IReadOnlyList<(string Name, double[] X, double[] Y)> series)
    {
        var plot = new ScottPlot.Plot();
        foreach (var (name, x, y) in series)
        {
            var line = plot.Add.ScatterLine(x, y);
            line.LegendText = name;
        }

        plot.Title(title);
        plot.XLabel(xLabel);
        plot.YLabel(yLabel);
        plot.ShowLegend();
        Save(plot, path);
    }

    private static void Save(ScottPlot.Plot plot, string path) =>
        AtomicFile.Write(path, temp => plot.SavePng(temp, Width, Height));
}
