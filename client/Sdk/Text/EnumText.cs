using System.Reflection;
using Google.Protobuf.Reflection;

namespace Campaigns.Client;

/// <summary>
/// Names of the contract's enums for people: <c>CAMPAIGN_STATUS_ACTIVE</c> is shown <c>ACTIVE</c>
/// and typed <c>active</c>; <c>DISCOUNT_KIND_FOLD_PRICE</c> is typed <c>fold-price</c> or just <c>fold</c>.
/// </summary>
public static class EnumText
{
    /// <summary>The value's name in the .proto file, e.g. <c>DISCOUNT_KIND_AMOUNT_OFF</c>.</summary>
    public static string ProtoName<T>(T value)
        where T : struct, Enum =>
        Names<T>.ByValue.TryGetValue(value, out var names) ? names.Proto : Convert.ToInt64(value, System.Globalization.CultureInfo.InvariantCulture).ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>The name without the type's prefix, e.g. <c>AMOUNT_OFF</c>; how the contract matches values.</summary>
    public static string Display<T>(T value)
        where T : struct, Enum =>
        Names<T>.ByValue.TryGetValue(value, out var names) ? names.Short : ProtoName(value);

    /// <summary>The name as typed on a command line, e.g. <c>amount-off</c>.</summary>
    public static string Kebab<T>(T value)
        where T : struct, Enum =>
        Display(value).ToLowerInvariant().Replace('_', '-');

    /// <summary>Every value but the unspecified one, as typed on a command line.</summary>
    public static IReadOnlyList<string> Choices<T>()
        where T : struct, Enum =>
        [.. Names<T>.Specified.Select(entry => Kebab(entry.Key))];

    /// <summary>
    /// Reads a value by name, in any case, with '-' or '_', with or without the type's prefix;
    /// an unambiguous beginning of a name is enough (<c>fold</c> for <c>FOLD_PRICE</c>).
    /// The unspecified value is never accepted.
    /// </summary>
    /// <exception cref="FormatException">No value, or more than one, matches.</exception>
    public static T Parse<T>(string text)
        where T : struct, Enum
    {
        var wanted = text.Trim().ToUpperInvariant().Replace('-', '_');
        if (wanted.Length > 0)
        {
            var exact = Names<T>.Specified.Where(entry => entry.Value.Short == wanted || entry.Value.Proto == wanted).ToList();
            if (exact.Count == 1)
            {
                return exact[0].Key;
            }

            var prefixed = Names<T>.Specified.Where(entry => entry.Value.Short.StartsWith(wanted, StringComparison.Ordinal)).ToList();
            if (prefixed.Count == 1)
            {
                return prefixed[0].Key;
            }
        }

        throw new FormatException($"'{text}' is not one of: {string.Join(", ", Choices<T>())}.");
    }

    private static class Names<T>
        where T : struct, Enum
    {
        public static readonly Dictionary<T, (string Proto, string Short)> ByValue = Load();

        public static readonly List<KeyValuePair<T, (string Proto, string Short)>> Specified =
            [.. ByValue.Where(entry => !entry.Value.Proto.EndsWith("_UNSPECIFIED", StringComparison.Ordinal))];

        private static Dictionary<T, (string Proto, string Short)> Load()
        {
            // Generated enums keep the .proto name in [OriginalName]; the prefix is whatever precedes
            // "UNSPECIFIED" in the zero value's name, as protobuf style lays it out.
            var protoNames = typeof(T).GetFields(BindingFlags.Public | BindingFlags.Static)
                .ToDictionary(
                    field => (T)field.GetValue(null)!,
                    field => field.GetCustomAttribute<OriginalNameAttribute>()?.Name ?? field.Name);
            var zero = protoNames.FirstOrDefault(entry => entry.Value.EndsWith("_UNSPECIFIED", StringComparison.Ordinal)).Value;
            var prefix = zero is null ? "" : zero[..^"UNSPECIFIED".Length];
            return protoNames.ToDictionary(
                entry => entry.Key,
                entry => (entry.Value, entry.Value.StartsWith(prefix, StringComparison.Ordinal) ? entry.Value[prefix.Length..] : entry.Value));
        }
    }
}
