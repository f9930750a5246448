using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using Google.Protobuf;
using Google.Protobuf.Reflection;

namespace Campaigns.Cli;

/// <summary>
/// <c>--json</c> output: proto3 JSON (default values included), except that 64-bit integers are
/// JSON numbers wherever a double holds them exactly, so <c>jq '.issued > 10'</c> compares
/// numbers. Proto3 JSON writes every int64 as a string; larger values stay strings, as it says.
/// </summary>
internal static class JsonText
{
    /// <summary>The largest integer a double (and so JavaScript, jq) holds exactly: 2^53 - 1.</summary>
    private const long MaxExact = 9_007_199_254_740_991;

    private static readonly JsonFormatter Formatter = new(JsonFormatter.Settings.Default.WithFormatDefaultValues(true));

    private static readonly JsonSerializerOptions Values = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static string Format(IMessage message)
    {
        var node = JsonNode.Parse(Formatter.Format(message));
        NumbersIn(node, message.Descriptor);
        return Write(node);
    }

    private static void NumbersIn(JsonNode? node, MessageDescriptor descriptor)
    {
        if (node is not JsonObject fields)
        {
            return; // well-known types such as Timestamp are written as strings
        }

        foreach (var field in descriptor.Fields.InFieldNumberOrder())
        {
            if (!fields.TryGetPropertyValue(field.JsonName, out var value) || value is null)
            {
                continue;
            }

            if (field.IsMap)
            {
                var valueField = field.MessageType.FindFieldByNumber(2);
                foreach (var key in value.AsObject().Select(entry => entry.Key).ToList())
                {
                    value[key] = Converted(value[key], valueField);
                }
            }
            else if (field.IsRepeated)
            {
                var items = value.AsArray();
                for (var i = 0; i < items.Count; i++)
                {
                    // Only a new node goes in: putting back the one already there throws (it has a parent).
                    if (Converted(items[i], field) is var converted && !ReferenceEquals(converted, items[i]))
                    {
                        items[i] = converted;
                    }
                }
            }
            else
            {
                fields[field.JsonName] = Converted(value, field);
            }
        }
    }

    private static JsonNode? Converted(JsonNode? value, FieldDescriptor field)
    {
        switch (field.FieldType)
        {
            case FieldType.Message:
                NumbersIn(value, field.MessageType);
                return value;
            case FieldType.Int64 or FieldType.SInt64 or FieldType.SFixed64 or FieldType.UInt64 or FieldType.Fixed64
                when value is JsonValue text && text.TryGetValue<string>(out var digits)
                    && long.TryParse(digits, System.Globalization.CultureInfo.InvariantCulture, out var number)
                    && number is >= -MaxExact and <= MaxExact:
                return JsonValue.Create(number);
            default:
                return value;
        }
    }

    /// <summary>One line, spaced as protobuf's own formatter spaces it (<c>{ "a": 1, "b": [ 2 ] }</c>).</summary>
    private static string Write(JsonNode? node) => node switch
    {
        JsonObject o when o.Count == 0 => "{ }",
        JsonObject o => "{ " + string.Join(", ", o.Select(p => JsonSerializer.Serialize(p.Key, Values) + ": " + Write(p.Value))) + " }",
        JsonArray a when a.Count == 0 => "[ ]",
        JsonArray a => "[ " + string.Join(", ", a.Select(Write)) + " ]",
        null => "null",
        _ => node.ToJsonString(Values),
    };
}
