using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace HealthAgent.Web.Auth;

/// <summary>
/// Salted PBKDF2-HMAC-SHA256 password hashes, written <c>pbkdf2-sha256$iterations$salt$hash</c> (salt and hash base64).
/// 600,000 iterations by default (OWASP Password Storage Cheat Sheet, PBKDF2-HMAC-SHA256). Verification is constant-time.
/// </summary>
public static class PasswordHasher
{
    public const string Scheme = "pbkdf2-sha256";
    public const int DefaultIterations = 600_000, MinIterations = 1_000, SaltBytes = 16, HashBytes = 32;

    public static string Hash(string password, int iterations = DefaultIterations)
    {
        var salt = RandomNumberGenerator.GetBytes(SaltBytes);
        var hash = Rfc2898DeriveBytes.Pbkdf2(Encoding.UTF8.GetBytes(password), salt, iterations, HashAlgorithmName.SHA256, HashBytes);
        return string.Create(CultureInfo.InvariantCulture, $"{Scheme}${iterations}${Convert.ToBase64String(salt)}${Convert.ToBase64String(hash)}");
    }

    public static bool IsWellFormed(string? encoded) => TryDecode(encoded, out _, out _, out _);

    /// <summary>True when the password matches. A malformed hash never matches.</summary>
    public static bool Verify(string password, string? encoded)
    {
        if (!TryDecode(encoded, out var iterations, out var salt, out var expected))
        {
            Dummy(password);
            return false;
        }
        var actual = Rfc2898DeriveBytes.Pbkdf2(Encoding.UTF8.GetBytes(password), salt, iterations, HashAlgorithmName.SHA256, expected.Length);
        return CryptographicOperations.FixedTimeEquals(actual, expected);
    }

    /// <summary>Spends the time a verification would, so an unknown user name answers as slowly as a wrong password.</summary>
    public static void Dummy(string password) =>
        Rfc2898DeriveBytes.Pbkdf2(Encoding.UTF8.GetBytes(password), new byte[SaltBytes], DummyIterations, HashAlgorithmName.SHA256, HashBytes);

    /// <summary>Iterations of the dummy work; the web server sets it to the configured hashes' typical count.</summary>
    public static int DummyIterations { get; set; } = DefaultIterations;

    private static bool TryDecode(string? encoded, out int iterations, out byte[] salt, out byte[] hash)
    {
        iterations = 0; salt = []; hash = [];
        var parts = encoded?.Split('$') ?? [];
        if (parts.Length != 4 || parts[0] != Scheme) return false;
        if (!int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out iterations) || iterations < MinIterations) return false;
        try
        {
            salt = Convert.FromBase64String(parts[2]);
            hash = Convert.FromBase64String(parts[3]);
        }
        catch (FormatException) { return false; }
        return salt.Length >= 8 && hash.Length >= 16;
    }

    internal static int IterationsOf(string encoded) => TryDecode(encoded, out var i, out _, out _) ? i : DefaultIterations;
}
