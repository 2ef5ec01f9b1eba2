using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace HealthAgent.Web;

/// <summary>Serves the page from resources embedded in the binary (wwwroot/): no files to deploy, no build step.</summary>
internal static class StaticFiles
{
    private static readonly (string Path, string Resource, string Type)[] Files =
    [
        ("/", "wwwroot/index.html", "text/html; charset=utf-8"),
        ("/app.js", "wwwroot/app.js", "text/javascript; charset=utf-8"),
        ("/app.css", "wwwroot/app.css", "text/css; charset=utf-8"),
    ];

    public static void Map(WebApplication app)
    {
        var asm = typeof(StaticFiles).Assembly;
        foreach (var (path, resource, type) in Files)
        {
            using var s = asm.GetManifestResourceStream(resource) ?? throw new InvalidOperationException($"resource {resource} is not embedded");
            using var ms = new MemoryStream();
            s.CopyTo(ms);
            var bytes = ms.ToArray();
            app.MapGet(path, (HttpContext ctx) =>
            {
                ctx.Response.Headers.CacheControl = "no-cache";
                return Results.Bytes(bytes, type);
            });
        }
    }
}
