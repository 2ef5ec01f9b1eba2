using System.Diagnostics;
using System.Globalization;
using System.Text;
using HealthAgent.Config;
using HealthAgent.Pipeline;
using HealthAgent.Publishing;
using HealthAgent.Publishing.Mqtt;
using Microsoft.Extensions.Logging.Abstractions;

namespace HealthAgent.Benchmarks;

/// <summary>
/// `dotnet run -c Release --project bench/HealthAgent.Benchmarks -- drain PORT [ROWS] [PAYLOAD_BYTES]`: fills the MQTT
/// outbox in a fresh state.db with ROWS events (default 100,000 of 800 B, about an event's size), then starts the real
/// pipeline and MQTT publisher (no sources) against the broker on 127.0.0.1:PORT and times until every row is
/// acknowledged (PUBACK) and deleted. Prints one JSON line. bench/mqtt-bench.sh runs it beside a mosquitto_sub that
/// counts what arrived. sqliteKiB: the memory SQLite still holds after the drain (its page caches).
/// </summary>
internal static class OutboxDrain
{
    public static async Task<int> RunAsync(string[] args)
    {
        var port = int.Parse(args[0], CultureInfo.InvariantCulture);
        var rows = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 100_000;
        var size = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 800;
        var dir = Directory.CreateTempSubdirectory("outbox-drain-").FullName;
        try
        {
            var config = Path.Combine(dir, "agent.json");
            await File.WriteAllTextAsync(config, $$"""
                { "agentId": "bench", "stateDirectory": "state", "sources": {},
                  "publishers": { "mqtt": { "host": "127.0.0.1", "port": {{port}}, "outbox": { "maxRows": {{Math.Max(rows, 1)}}, "maxBytes": {{(long)rows * (size + 100) + 1024}} } } } }
                """);
            var cfg = AgentConfig.Load(config);

            // Fill: one transaction per event, as the state loop commits them.
            var fill = Stopwatch.StartNew();
            var topic = "healthagent/v1/bench/event/power_supply/psu_1";
            using (var store = new HealthStore(Path.Combine(cfg.StateDirectory, "state.db")))
            {
                var outbox = store.OpenOutbox("mqtt", new OutboxLimits { MaxRows = rows, MaxBytes = long.MaxValue });
                var pad = new string('x', Math.Max(0, size - 80));
                for (var i = 1; i <= rows; i++)
                {
                    var id = Guid.NewGuid();
                    outbox.Add(new OutboxEntry(id, i, topic, Encoding.UTF8.GetBytes($"{{\"eventId\":\"{id}\",\"seq\":{i},\"pad\":\"{pad}\"}}"), false));
                }
            }
            fill.Stop();

            var ctx = new PublisherContext(cfg, NullLoggerFactory.Instance, TimeProvider.System, "bench", "bench-boot", () => []);
            var publisher = (MqttPublisher)PublisherCatalog.CreateEnabled(ctx).Single();
            await using var pipeline = new HealthPipeline("bench", "bench-boot", cfg.Rules, cfg.StateDirectory, [], [publisher], NullLoggerFactory.Instance);
            using var stop = new CancellationTokenSource();
            var cpu0 = Process.GetCurrentProcess().TotalProcessorTime;
            var sw = Stopwatch.StartNew();
            var run = pipeline.RunAsync(stop.Token);
            while (!publisher.IsOnline) await Task.Delay(1);
            var connected = sw.Elapsed;
            while (publisher.Outbox.Count > 0)
            {
                if (sw.Elapsed > TimeSpan.FromMinutes(5)) throw new TimeoutException($"{publisher.Outbox.Count} rows left after 5 min");
                await Task.Delay(2);
            }
            var drained = sw.Elapsed - connected;
            var cpu = Process.GetCurrentProcess().TotalProcessorTime - cpu0;
            var sqliteBytes = SQLitePCL.raw.sqlite3_memory_used(); // what SQLite holds once the backlog is gone (page caches)
            await stop.CancelAsync();
            await run;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{{\"rows\":{rows},\"payloadBytes\":{size},\"fillSeconds\":{fill.Elapsed.TotalSeconds:0.000},\"commitsPerSecond\":{rows / fill.Elapsed.TotalSeconds:0},\"connectSeconds\":{connected.TotalSeconds:0.000},\"drainSeconds\":{drained.TotalSeconds:0.000},\"eventsPerSecond\":{rows / drained.TotalSeconds:0},\"cpuMicrosecondsPerEvent\":{cpu.TotalMicroseconds / rows:0.0},\"rejected\":{publisher.Rejected},\"sqliteKiB\":{sqliteBytes / 1024}}}"));
            return 0;
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            Directory.Delete(dir, true);
        }
    }
}
