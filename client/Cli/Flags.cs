using System.CommandLine;
using System.Globalization;
using System.Numerics;
using System.CommandLine.Parsing;
using Campaigns.Client;

namespace Campaigns.Cli;

/// <summary>
/// Options whose values are read by the SDK's small parsers (money, enums, quotas), so a bad value
/// is a parse error, reported before anything is sent.
/// </summary>
internal static class Flags
{
    /// <summary>
    /// A text flag. Given, it must say something: an explicitly empty id or key is a mistake
    /// (a quoting slip in a script), never a request for the server's default.
    /// </summary>
    public static Option<string> Text(string name, string description, bool required = false, string? helpName = null, bool allowEmpty = false)
    {
        var option = new Option<string>(name)
        {
            Description = description,
            Required = required,
            HelpName = helpName,
        };
        if (!allowEmpty)
        {
            option.Validators.Add(result =>
            {
                if (result.Tokens.Count > 0 && string.IsNullOrWhiteSpace(result.Tokens[^1].Value))
                {
                    result.AddError(required ? $"{name} must not be empty." : $"{name} must not be empty; leave {name} out instead.");
                }
            });
        }

        return option;
    }

    /// <summary>
    /// A whole number of at least <paramref name="min"/>. Refused in the flag's own words: an
    /// oversized or negative count is a typing error, not a "System.Int64" problem.
    /// </summary>
    public static Option<T> Whole<T>(string name, string description, T min, bool required = false)
        where T : struct, IBinaryInteger<T>, IMinMaxValue<T> =>
        Parsed(name, description, text => WholeNumber(text, min), required, "n");

    /// <summary>The two flags of every listing: how many a page, and where the previous page ended.</summary>
    public static (Option<int> Size, Option<string> Token) Paging(int serverDefault = 20) =>
        (Whole("--page-size", $"1-100 (server default {serverDefault})", 1), Text("--page-token", "The next_page_token of the previous page"));

    /// <summary>An amount in cents; <c>¥12.34</c> is read as yuan.</summary>
    public static Option<long> Money(string name, string description, bool required = false) =>
        Parsed(name, description + " (cents, or ¥12.34)", Client.Money.ParseCents, required, "cents");

    /// <summary>A value of a contract enum, by its short name.</summary>
    public static Option<T> Enum<T>(string name, string description, bool required = false)
        where T : struct, System.Enum =>
        Parsed(name, description, EnumText.Parse<T>, required, string.Join('|', EnumText.Choices<T>()));

    /// <summary>Repeatable <c>partner=N</c>.</summary>
    public static Option<KeyValuePair<string, long>[]> ChannelQuotas(string name, string description) => new(name)
    {
        Description = description,
        HelpName = "partner=N",
        AllowMultipleArgumentsPerToken = false,
        CustomParser = result => Each(result, name, ChannelQuota.Parse),
    };

    public static Option<T> Parsed<T>(string name, string description, Func<string, T> parse, bool required = false, string? helpName = null) => new(name)
    {
        Description = description,
        Required = required,
        HelpName = helpName,
        CustomParser = result => One(result, name, parse),
    };

    private static T WholeNumber<T>(string text, T min)
        where T : struct, IBinaryInteger<T>, IMinMaxValue<T>
    {
        if (T.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value))
        {
            return value >= min ? value
                : throw new FormatException(min == T.Zero ? "must not be negative." : $"must be at least {min}.");
        }

        var digits = text.TrimStart('-', '+');
        throw new FormatException(digits.Length > 0 && digits.All(char.IsAsciiDigit)
            ? text.StartsWith('-') ? $"'{text}' is out of range." : $"'{text}' is too large (at most {T.MaxValue})."
            : $"'{text}' is not a whole number.");
    }

    private static T One<T>(ArgumentResult result, string name, Func<string, T> parse)
    {
        if (result.Tokens.Count == 0)
        {
            result.AddError($"{name} needs a value.");
            return default!;
        }

        try
        {
            return parse(result.Tokens[^1].Value);
        }
        catch (FormatException e)
        {
            result.AddError($"{name}: {e.Message}");
            return default!;
        }
    }

    private static T[] Each<T>(ArgumentResult result, string name, Func<string, T> parse)
    {
        var values = new List<T>();
        foreach (var token in result.Tokens)
        {
            try
            {
                values.Add(parse(token.Value));
            }
            catch (FormatException e)
            {
                result.AddError($"{name}: {e.Message}");
            }
        }

        return [.. values];
    }
}
