using Mono.Cecil;
using Mono.Cecil.Cil;

namespace Recommender.Tests.Architecture;

/// <summary>
/// Which namespace of an assembly uses which, read from its IL: every type a type mentions in its
/// signatures, attributes, fields, locals and method bodies (calls, field reads, casts, allocations),
/// compiler-generated closures and state machines counted with the type that declares them.
/// An edge A → B means some type of A mentions a type of B.
/// </summary>
internal sealed class NamespaceGraph
{
    private readonly Dictionary<string, Dictionary<string, string>> _edges = new(StringComparer.Ordinal);

    private NamespaceGraph(IEnumerable<string> nodes)
    {
        foreach (var n in nodes)
        {
            _edges[n] = new Dictionary<string, string>(StringComparer.Ordinal);
        }
    }

    public IReadOnlyCollection<string> Nodes => _edges.Keys;

    /// <summary>Every edge with one example of the mention behind it ("Type → Type").</summary>
    public IEnumerable<(string From, string To, string Example)> Edges =>
        _edges.SelectMany(e => e.Value.Select(t => (From: e.Key, To: t.Key, Example: t.Value)))
            .OrderBy(e => e.From, StringComparer.Ordinal).ThenBy(e => e.To, StringComparer.Ordinal);

    /// <summary>A graph from explicit edges (for testing the graph's own algorithms).</summary>
    public static NamespaceGraph FromEdges(params (string From, string To)[] edges)
    {
        var g = new NamespaceGraph(edges.SelectMany(e => new[] { e.From, e.To }).Distinct());
        foreach (var (from, to) in edges)
        {
            g.Add(from, to, $"{from} → {to}");
        }

        return g;
    }

    /// <summary>The namespaces under <paramref name="root"/> of the assembly at <paramref name="path"/>.</summary>
    public static NamespaceGraph Read(string path, string root)
    {
        using var module = ModuleDefinition.ReadModule(path);
        var all = module.GetTypes().ToList();
        var ownNamespace = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var t in all)
        {
            var ns = Outermost(t).Namespace;
            if (ns == root || ns.StartsWith(root + ".", StringComparison.Ordinal))
            {
                ownNamespace[t.FullName] = ns;
            }
        }

        var graph = new NamespaceGraph(ownNamespace.Values.Distinct());
        foreach (var type in all)
        {
            if (!ownNamespace.TryGetValue(type.FullName, out var from))
            {
                continue;
            }

            foreach (var used in Mentions(type))
            {
                var element = Outermost(Element(used));
                if (ownNamespace.TryGetValue(Element(used).FullName, out var to) || ownNamespace.TryGetValue(element.FullName, out to))
                {
                    if (to != from)
                    {
                        graph.Add(from, to, $"{type.FullName} → {Element(used).FullName}");
                    }
                }
            }
        }

        return graph;
    }

    /// <summary>The namespaces that depend on each other through some path: each strongly connected set of two or more.</summary>
    public IReadOnlyList<IReadOnlyList<string>> Cycles()
    {
        // Tarjan's algorithm, recursive: namespaces are a few dozen.
        var index = new Dictionary<string, int>(StringComparer.Ordinal);
        var low = new Dictionary<string, int>(StringComparer.Ordinal);
        var stack = new Stack<string>();
        var onStack = new HashSet<string>(StringComparer.Ordinal);
        var result = new List<IReadOnlyList<string>>();
        var next = 0;

        void Visit(string v)
        {
            index[v] = low[v] = next++;
            stack.Push(v);
            onStack.Add(v);
            foreach (var w in _edges[v].Keys)
            {
                if (!index.ContainsKey(w))
                {
                    Visit(w);
                    low[v] = Math.Min(low[v], low[w]);
                }
                else if (onStack.Contains(w))
                {
                    low[v] = Math.Min(low[v], index[w]);
                }
            }

            if (low[v] == index[v])
            {
                var component = new List<string>();
                string w;
                do
                {
                    w = stack.Pop();
                    onStack.Remove(w);
                    component.Add(w);
                }
                while (w != v);
                if (component.Count > 1)
                {
                    component.Sort(StringComparer.Ordinal);
                    result.Add(component);
                }
            }
        }

        foreach (var v in _edges.Keys.Order(StringComparer.Ordinal))
        {
            if (!index.ContainsKey(v))
            {
                Visit(v);
            }
        }

        return result;
    }

    /// <summary>
    /// The edges not implied by others (no longer path from A to B): the picture to draw. Defined
    /// for an acyclic graph only.
    /// </summary>
    public IReadOnlyList<(string From, string To)> TransitiveReduction()
    {
        var kept = new List<(string, string)>();
        foreach (var (from, targets) in _edges)
        {
            foreach (var to in targets.Keys)
            {
                var implied = targets.Keys.Any(mid => mid != to && Reaches(mid, to));
                if (!implied)
                {
                    kept.Add((from, to));
                }
            }
        }

        return [.. kept.OrderBy(e => e.Item1, StringComparer.Ordinal).ThenBy(e => e.Item2, StringComparer.Ordinal)];
    }

    public bool Reaches(string from, string to)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal) { from };
        var queue = new Queue<string>([from]);
        while (queue.TryDequeue(out var v))
        {
            foreach (var w in _edges[v].Keys)
            {
                if (w == to)
                {
                    return true;
                }

                if (seen.Add(w))
                {
                    queue.Enqueue(w);
                }
            }
        }

        return false;
    }

    public string Example(string from, string to) => _edges[from][to];

    private void Add(string from, string to, string example) => _edges[from].TryAdd(to, example);

    private static TypeReference Outermost(TypeReference t)
    {
        while (t.DeclaringType is not null)
        {
            t = t.DeclaringType;
        }

        return t;
    }

    /// <summary>T for T[], T*, ref T, List&lt;T&gt;'s generic definition, modifiers.</summary>
    private static TypeReference Element(TypeReference t) => t is TypeSpecification s ? Element(s.ElementType) : t;

    private static IEnumerable<TypeReference> Mentions(TypeDefinition type)
    {
        var found = new List<TypeReference>();
        void Add(TypeReference? t)
        {
            switch (t)
            {
                case null:
                    return;
                case GenericInstanceType g:
                    found.Add(g.ElementType);
                    foreach (var a in g.GenericArguments)
                    {
                        Add(a);
                    }

                    return;
                case TypeSpecification s:
                    Add(s.ElementType);
                    return;
                case GenericParameter:
                    return;
                default:
                    found.Add(t);
                    return;
            }
        }

        void AddAttributes(ICustomAttributeProvider p)
        {
            if (!p.HasCustomAttributes)
            {
                return;
            }

            foreach (var a in p.CustomAttributes)
            {
                Add(a.AttributeType);
            }
        }

        void AddMethod(MethodReference m)
        {
            Add(m.DeclaringType);
            Add(m.ReturnType);
            foreach (var p in m.Parameters)
            {
                Add(p.ParameterType);
            }

            if (m is GenericInstanceMethod gm)
            {
                foreach (var a in gm.GenericArguments)
                {
                    Add(a);
                }
            }
        }

        Add(type.BaseType);
        AddAttributes(type);
        foreach (var i in type.Interfaces)
        {
            Add(i.InterfaceType);
        }

        foreach (var gp in type.GenericParameters)
        {
            foreach (var c in gp.Constraints)
            {
                Add(c.ConstraintType);
            }
        }

        foreach (var f in type.Fields)
        {
            Add(f.FieldType);
            AddAttributes(f);
        }

        foreach (var p in type.Properties)
        {
            Add(p.PropertyType);
            AddAttributes(p);
        }

        foreach (var e in type.Events)
        {
            Add(e.EventType);
        }

        foreach (var m in type.Methods)
        {
            AddMethod(m);
            AddAttributes(m);
            if (!m.HasBody)
            {
                continue;
            }

            foreach (var v in m.Body.Variables)
            {
                Add(v.VariableType);
            }

            foreach (var handler in m.Body.ExceptionHandlers)
            {
                Add(handler.CatchType);
            }

            foreach (var instruction in m.Body.Instructions)
            {
                switch (instruction.Operand)
                {
                    case TypeReference t:
                        Add(t);
                        break;
                    case MethodReference called:
                        AddMethod(called);
                        break;
                    case FieldReference field:
                        Add(field.DeclaringType);
                        Add(field.FieldType);
                        break;
                    case CallSite site:
                        Add(site.ReturnType);
                        break;
                }
            }
        }

        return found;
    }
}
