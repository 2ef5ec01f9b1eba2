using System.Text;
using HealthAgent.Model;
using HealthAgent.Pipeline;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Logging.Console;
using Microsoft.Extensions.DependencyInjection;

namespace HealthAgent.Cli;

/// <summary>How <see cref="ConsoleLog"/> writes: a terminal, a pipe or file, or journald (systemd).</summary>
public enum ConsoleLogMode
{
    /// <summary>Time, severity (coloured), the line; a warning's or critical's action on a second, indented line.</summary>
    Terminal,
    /// <summary>One line per entry with the time (output redirected to a file or pipe).</summary>
    Plain,
    /// <summary>One line per entry with a &lt;N&gt; syslog priority and no time (journald adds its own).</summary>
    Journald,
}

public sealed class ConsoleLogOptions : ConsoleFormatterOptions
{
    public ConsoleLogMode Mode { get; set; } = ConsoleLogMode.Terminal;
    public bool Color { get; set; }
    /// <summary>Lines are cut to this many characters in <see cref="ConsoleLogMode.Terminal"/> mode (whole sentences first).</summary>
    public int MaxLine { get; set; } = 160;
    /// <summary>The clock for the time column (tests fix it).</summary>
    public TimeProvider Time { get; set; } = TimeProvider.System;
}

/// <summary>
/// The agent's console: <c>21:03:20 CRIT CPU1 Temp [bmc]: 97 °C ≥ 95 °C critical — The temperature is …</c> and, for
/// warning and critical, <c>         → Check the fans and airflow …</c>. No category or event id; component lines
/// (<see cref="HealthPipeline.ComponentChangeEventId"/>) show the component's health, other lines the log level.
/// </summary>
public sealed class ConsoleLog : ConsoleFormatter
{
    public const string FormatterName = "healthagent";
    private const string Indent = "         → ";
    private readonly ConsoleLogOptions _o;

    public ConsoleLog(ConsoleLogOptions options) : base(FormatterName) => _o = options;

    /// <summary>The console as the run command sets it up: journald when systemd gave us its stream, else a terminal or plain lines.</summary>
    public static void AddTo(ILoggingBuilder logging)
    {
        var mode = Environment.GetEnvironmentVariable("JOURNAL_STREAM") is not null ? ConsoleLogMode.Journald
            : Console.IsOutputRedirected ? ConsoleLogMode.Plain : ConsoleLogMode.Terminal;
        var color = mode == ConsoleLogMode.Terminal && Environment.GetEnvironmentVariable("NO_COLOR") is null;
        logging.AddConsole(o => o.FormatterName = FormatterName);
        // Registered as an instance: AddConsoleFormatter<,> binds options by reflection, which trimming breaks.
        logging.Services.AddSingleton<ConsoleFormatter>(new ConsoleLog(new ConsoleLogOptions { Mode = mode, Color = color, UseUtcTimestamp = true }));
    }

    public override void Write<TState>(in LogEntry<TState> logEntry, IExternalScopeProvider? scopeProvider, TextWriter textWriter)
    {
        var message = logEntry.Formatter(logEntry.State, logEntry.Exception);
        if (string.IsNullOrEmpty(message) && logEntry.Exception is null) return;
        var time = _o.UseUtcTimestamp ? _o.Time.GetUtcNow() : _o.Time.GetLocalNow();
        if (logEntry.EventId.Id == HealthPipeline.ComponentChangeEventId && logEntry.State is IReadOnlyList<KeyValuePair<string, object?>> kv)
        {
            string Get(string k) => kv.FirstOrDefault(p => p.Key == k).Value as string ?? "";
            textWriter.Write(Component(time, Get("Health"), Get("Part"), Get("What"), Get("Action")));
            return;
        }
        if (logEntry.Exception is { } ex) message += (message.Length > 0 ? ": " : "") + ErrorWords.Describe(ex);
        textWriter.Write(Line(time, LevelWord(logEntry.LogLevel), Priority(logEntry.LogLevel), message, null));
    }

    /// <summary>A component's change as written (one or two lines, each ending in a newline).</summary>
    public string Component(DateTimeOffset time, string health, string part, string what, string action)
    {
        var word = health switch { "critical" => "CRIT", "warning" => "WARN", _ => health };
        var priority = health switch { "critical" => 2, "warning" => 4, _ => 6 };
        return Line(time, word, priority, part + ": " + what, action.Length > 0 ? action : null);
    }

    private string Line(DateTimeOffset time, string word, int priority, string text, string? action)
    {
        var sb = new StringBuilder();
        text = text.ReplaceLineEndings(" ");
        switch (_o.Mode)
        {
            case ConsoleLogMode.Journald:
                // sd-daemon(3): a "<N>" prefix gives journald the priority.
                sb.Append('<').Append(priority).Append('>').Append(text);
                if (action is not null) sb.Append(" → ").Append(action);
                break;
            case ConsoleLogMode.Plain:
                sb.Append(time.ToString("HH:mm:ss", System.Globalization.CultureInfo.InvariantCulture)).Append(' ').Append(word.PadRight(5)).Append(text);
                if (action is not null) sb.Append(" → ").Append(action);
                break;
            default:
                var head = time.ToString("HH:mm:ss", System.Globalization.CultureInfo.InvariantCulture) + " ";
                sb.Append(head).Append(Colored(word.PadRight(5), priority));
                sb.Append(ActionText.Shorten(text, int.MaxValue, _o.MaxLine - head.Length - 5, out _));
                if (action is not null) Wrap(sb, ActionText.Shorten(action, ActionText.MaxAdviceWords, int.MaxValue, out _));
                break;
        }
        return sb.Append('\n').ToString();
    }

    /// <summary>The action on indented lines of at most <see cref="ConsoleLogOptions.MaxLine"/> characters, broken between words.</summary>
    private void Wrap(StringBuilder sb, string text)
    {
        var prefix = Indent;
        var line = new StringBuilder();
        foreach (var word in text.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            if (line.Length > 0 && prefix.Length + line.Length + 1 + word.Length > _o.MaxLine)
            {
                sb.Append('\n').Append(prefix).Append(line);
                line.Clear();
                prefix = new string(' ', Indent.Length);
            }
            if (line.Length > 0) line.Append(' ');
            line.Append(word);
        }
        if (line.Length > 0) sb.Append('\n').Append(prefix).Append(line);
    }

    private string Colored(string word, int priority) => !_o.Color ? word : priority switch
    {
        <= 3 => "\u001b[1;31m" + word + "\u001b[0m",
        4 => "\u001b[1;33m" + word + "\u001b[0m",
        7 => "\u001b[90m" + word + "\u001b[0m",
        _ => word,
    };

    private static string LevelWord(LogLevel level) => level switch
    {
        LogLevel.Trace => "trace", LogLevel.Debug => "debug", LogLevel.Information => "info", LogLevel.Warning => "warn",
        LogLevel.Error => "ERROR", _ => "FATAL",
    };

    private static int Priority(LogLevel level) => level switch
    {
        LogLevel.Trace or LogLevel.Debug => 7, LogLevel.Information => 6, LogLevel.Warning => 4, LogLevel.Error => 3, _ => 2,
    };
}
