using System.Globalization;
using System.Text.RegularExpressions;

namespace Campaigns.Tests.EndToEnd;

/// <summary>Reading a /metrics scrape (Prometheus text).</summary>
internal static class PrometheusText
{
    /// <summary>The sum of the samples of <paramref name="metric"/> whose labels include every one given.</summary>
    public static double Sum(string scrape, string metric, params (string Name, string Value)[] labels) =>
        scrape.Split('\n')
            .Select(line => Regex.Match(line, @"^(?<name>[a-z_]+)(\{(?<labels>.*)\})? (?<value>\S+)"))
            .Where(m => m.Success && m.Groups["name"].Value == metric
                && labels.All(l => m.Groups["labels"].Value.Contains($"{l.Name}=\"{l.Value}\"", StringComparison.Ordinal)))
            .Sum(m => double.Parse(m.Groups["value"].Value, CultureInfo.InvariantCulture));
}
