using System.Text.Json.Nodes;
using HealthAgent.TestSupport;

namespace HealthAgent.Tests.Publishing.Mqtt;

/// <summary>
/// Validates payloads against docs/schemas with a JSON Schema implementation we did not write: Python's jsonschema
/// (Debian python3-jsonschema; deploy/test.sh installs it), Draft 2020-12, every schema file registered by its $id so
/// <c>common.json#/$defs/…</c> references resolve. Each schema is checked against the meta-schema first.
/// </summary>
public static class PayloadSchemas
{
    // jsonschema ≥ 4.18 resolves $ref through `referencing`; older ones (Debian 12: 4.10) through RefResolver.
    private const string Script = """
        import json, sys, warnings
        warnings.simplefilter("ignore")
        from jsonschema import Draft202012Validator, FormatChecker
        req = json.load(sys.stdin)
        schemas = {s["$id"]: s for s in req["schemas"]}
        for s in schemas.values():
            Draft202012Validator.check_schema(s)
        try:
            from referencing import Registry, Resource
            registry = Registry().with_resources([(k, Resource.from_contents(v)) for k, v in schemas.items()])
            make = lambda s: Draft202012Validator(s, registry=registry, format_checker=FormatChecker())
        except ImportError:
            from jsonschema import RefResolver
            make = lambda s: Draft202012Validator(s, resolver=RefResolver.from_schema(s, store=schemas), format_checker=FormatChecker())
        out = []
        for item in req["items"]:
            v = make(schemas[item["schema"]])
            out.append(sorted("/" + "/".join(str(p) for p in e.absolute_path) + ": " + e.message for e in v.iter_errors(item["payload"])))
        print(json.dumps(out))
        """;

    public static string Directory { get; } = Path.Combine(SeedRules.RepoRoot, "docs", "schemas");

    /// <summary>Per item, every way the payload breaks its schema file (e.g. "part.json"); empty lists when all are valid.</summary>
    public static async Task<List<List<string>>> ValidateAsync(IReadOnlyList<(string SchemaFile, JsonNode Payload)> items)
    {
        var schemas = System.IO.Directory.GetFiles(Directory, "*.json").Order(StringComparer.Ordinal)
            .Select(f => (File: Path.GetFileName(f), Json: JsonNode.Parse(File.ReadAllText(f))!.AsObject())).ToList();
        var ids = schemas.ToDictionary(s => s.File, s => (string)s.Json["$id"]!);
        var request = new JsonObject
        {
            ["schemas"] = new JsonArray([.. schemas.Select(s => (JsonNode)s.Json)]),
            ["items"] = new JsonArray([.. items.Select(i => (JsonNode)new JsonObject { ["schema"] = ids[i.SchemaFile], ["payload"] = i.Payload.DeepClone() })]),
        };
        var r = await ProcessRunner.RunAsync("/usr/bin/python3", ["-c", Script], TimeSpan.FromSeconds(60), request.ToJsonString());
        Assert.True(r.ExitCode == 0, "python3-jsonschema could not validate (apt-get install python3-jsonschema): " + r.StandardError);
        return [.. JsonNode.Parse(r.StandardOutput)!.AsArray().Select(a => a!.AsArray().Select(e => (string)e!).ToList())];
    }

    /// <summary>Asserts every payload is valid, naming the schema, the payload's path and the rule it breaks.</summary>
    public static async Task AssertValidAsync(params (string SchemaFile, JsonNode Payload)[] items)
    {
        var results = await ValidateAsync(items);
        var problems = items.Zip(results).SelectMany(x => x.Second.Select(e => $"{x.First.SchemaFile} {e}")).ToList();
        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }
}
