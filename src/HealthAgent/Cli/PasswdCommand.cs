using System.CommandLine;
using System.Text;
using HealthAgent.Web.Auth;

namespace HealthAgent.Cli;

/// <summary>
/// `healthagent passwd`: reads a password on stdin (hidden when typed at a terminal) and prints a salted PBKDF2 hash
/// for web.users[].passwordHash; passwords under 12 characters are refused (exit 2). The password is never echoed or logged.
/// </summary>
public static class PasswdCommand
{
    /// <summary>Shorter passwords are refused: the web view faces the site network and its hashes may leak with agent.json.</summary>
    public const int MinLength = 12;

    public static Command Build()
    {
        var iterations = new Option<int>("--iterations") { Description = "PBKDF2 iterations", DefaultValueFactory = _ => PasswordHasher.DefaultIterations };
        var cmd = new Command("passwd", "Hash a web view password (read from stdin) for agent.json web.users") { iterations };
        cmd.SetAction(p => Run(Console.IsInputRedirected ? Console.In : null, p.GetValue(iterations), Console.Out, Console.Error));
        return cmd;
    }

    /// <summary>Reads from <paramref name="input"/> (null: the terminal, without echo) and prints the hash. 0 ok, 2 bad input.</summary>
    public static int Run(TextReader? input, int iterations, TextWriter output, TextWriter error)
    {
        if (iterations < PasswordHasher.MinIterations)
        {
            error.WriteLine($"--iterations: at least {PasswordHasher.MinIterations}");
            return 2;
        }
        string? password;
        if (input is null)
        {
            error.Write("Password: ");
            password = ReadHidden();
            error.Write("Again: ");
            if (ReadHidden() != password) { error.WriteLine("The passwords differ."); return 2; }
        }
        else password = input.ReadLine();
        if (string.IsNullOrEmpty(password)) { error.WriteLine("No password given (write it on stdin)."); return 2; }
        if (password.Length < MinLength) { error.WriteLine($"Too short: a web view password needs at least {MinLength} characters (this one has {password.Length})."); return 2; }
        output.WriteLine(PasswordHasher.Hash(password, iterations));
        return 0;
    }

    private static string ReadHidden()
    {
        var sb = new StringBuilder();
        while (true)
        {
            var k = Console.ReadKey(intercept: true);
            if (k.Key == ConsoleKey.Enter) break;
            if (k.Key == ConsoleKey.Backspace) { if (sb.Length > 0) sb.Length--; }
            else if (!char.IsControl(k.KeyChar)) sb.Append(k.KeyChar);
        }
        Console.Error.WriteLine();
        return sb.ToString();
    }
}
