using System.Text;
using System.Text.RegularExpressions;
using Recommender.Tests.Support;

namespace Recommender.Tests.Architecture;

/// <summary>
/// The layering a reader relies on: no two namespaces of one assembly depend on each other through
/// any path, Core knows nothing of the Host, and docs/architecture.md draws exactly the edges the IL has.
/// </summary>
public sealed partial class NamespaceGraphTests
{
    private static readonly (string Name, string Root, string Path)[] Assemblies =
    [
        ("Recommender.Core", "Recommender", typeof(Recommender.Data.IdMap).Assembly.Location),
        ("Recommender.Host", "Recommender.Host", typeof(Recommender.Host.RecommenderHost).Assembly.Location),
    ];

    [TestCaseSource(nameof(AssemblyNames))]
    public void No_namespace_cycle(string assembly)
    {
        var graph = Graph(assembly);
        var cycles = graph.Cycles();
        var report = new StringBuilder();
        foreach (var cycle in cycles)
        {
            report.AppendLine($"cycle: {string.Join(", ", cycle)}");
            foreach (var from in cycle)
            {
                foreach (var to in cycle.Where(to => to != from && graph.Edges.Any(e => e.From == from && e.To == to)))
                {
                    report.AppendLine($"  {from} → {to}: {graph.Example(from, to)}");
                }
            }
        }

        Assert.That(cycles, Is.Empty, report.ToString());
    }

    [Test]
    public void Core_does_not_reference_the_host()
    {
        using var core = Mono.Cecil.ModuleDefinition.ReadModule(Assemblies[0].Path);
        Assert.That(core.AssemblyReferences.Select(r => r.Name), Has.None.StartsWith("Recommender.Host").And.None.StartsWith("Grpc").And.None.StartsWith("Microsoft.AspNetCore"));
    }

    [TestCaseSource(nameof(AssemblyNames))]
    public void Architecture_doc_draws_the_edges_the_IL_has(string assembly)
    {
        var (_, root, _) = Assemblies.Single(a => a.Name == assembly);
        var graph = Graph(assembly);
        Assume.That(graph.Cycles(), Is.Empty, "drawn only once the graph is acyclic");
        var expected = graph.TransitiveReduction().Select(e => $"{Short(e.From, root)} --> {Short(e.To, root)}").ToList();
        var doc = File.ReadAllText(Path.Combine(TestPaths.RepoRoot, "docs", "architecture.md"));
        var block = Mermaid(assembly, expected);
        var drawn = DrawnEdges(doc, assembly);
        Assert.That(drawn, Is.Not.Null, $"docs/architecture.md has no mermaid block of {assembly}; the block to paste:\n{block}");
        Assert.That(drawn, Is.EquivalentTo(expected), $"docs/architecture.md's graph of {assembly} differs from the IL's (edges implied by longer paths left out); the block to paste:\n{block}");
    }

    [Test]
    public void Cycles_are_found_through_any_path()
    {
        var acyclic = NamespaceGraph.FromEdges(("A", "B"), ("B", "C"), ("A", "C"), ("D", "C"));
        Assert.That(acyclic.Cycles(), Is.Empty);
        Assert.That(acyclic.TransitiveReduction(), Is.EqualTo(new[] { ("A", "B"), ("B", "C"), ("D", "C") }));

        var cyclic = NamespaceGraph.FromEdges(("A", "B"), ("B", "C"), ("C", "A"), ("C", "D"), ("E", "F"), ("F", "E"));
        Assert.That(cyclic.Cycles().Select(c => string.Join(",", c)), Is.EquivalentTo(new[] { "A,B,C", "E,F" }));
    }

    [Test]
    public void The_reader_sees_mentions_in_method_bodies()
    {
        // Host → Retraining only through a call inside a method body (the RetrainNow handler); a
        // reader of signatures alone would miss the edge.
        var host = Graph("Recommender.Host");
        Assert.That(host.Reaches("Recommender.Host.Services", "Recommender.Host.Retraining"), Is.True);
        Assert.That(host.Reaches("Recommender.Host.Configuration", "Recommender.Host.Services"), Is.False);
    }

    public static IEnumerable<string> AssemblyNames() => Assemblies.Select(a => a.Name);

    private static NamespaceGraph Graph(string assembly)
    {
        var (_, root, path) = Assemblies.Single(a => a.Name == assembly);
        return NamespaceGraph.Read(path, root);
    }

    /// <summary>Data for Recommender.Data; the Host's own root namespace (the wiring) is "Host".</summary>
    private static string Short(string ns, string root) => ns == root ? root[(root.LastIndexOf('.') + 1)..] : ns[(root.Length + 1)..];

    private static List<string>? DrawnEdges(string doc, string assembly)
    {
        var start = doc.IndexOf($"%% namespaces of {assembly} ", StringComparison.Ordinal);
        if (start < 0)
        {
            return null;
        }

        var end = doc.IndexOf("```", start, StringComparison.Ordinal);
        return [.. EdgeLine().Matches(doc[start..end]).Select(m => $"{m.Groups[1].Value} --> {m.Groups[2].Value}")];
    }

    private static string Mermaid(string assembly, IEnumerable<string> edges) =>
        $"```mermaid\n%% namespaces of {assembly} (checked by NamespaceGraphTests: an arrow points from the user to the used)\nflowchart BT\n{string.Join("\n", edges.Select(e => "  " + e))}\n```";

    [GeneratedRegex(@"^\s*([A-Za-z0-9_]+)\s*-->\s*([A-Za-z0-9_]+)\s*$", RegexOptions.Multiline)]
    private static partial Regex EdgeLine();
}
