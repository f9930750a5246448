using System.Globalization;

namespace Campaigns.Grains.Common;

/// <summary>
/// Money in refusal messages, read by cashiers and organisers: <c>¥99.99 (9999 cents)</c>, the
/// yuan they think in beside the cents the API speaks. Whole cents, no floating point.
/// </summary>
public static class MoneyText
{
    public static string Of(long cents)
    {
        var magnitude = cents < 0 ? -(decimal)cents : cents;
        var yuan = "¥" + (magnitude / 100m).ToString("0.00", CultureInfo.InvariantCulture);
        return $"{(cents < 0 ? "-" : "")}{yuan} ({cents.ToString(CultureInfo.InvariantCulture)} cents)";
    }
}
