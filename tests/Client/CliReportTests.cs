using Campaigns.Cli;

namespace Campaigns.Tests.Client;

/// <summary>How the tool lays out readable output on a terminal.</summary>
public sealed class CliReportTests
{
    [Fact]
    public void Table_columns_line_up_by_display_width_with_Chinese_names()
    {
        using var output = new StringWriter();

        new Report(output).Table(
            ["MERCHANT", "NAME", "DISTRICT"],
            [["m-001", "南京路餐厅", "黄浦"], ["m-002", "Tea House", "Jing'an"], ["m-003", "（全角）Café", "徐汇"]]);

        var lines = output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        // The third column starts at the same terminal column on every line.
        var starts = lines.Select(line => Report.DisplayWidth(line[..IndexOfThirdColumn(line)])).Distinct();
        Assert.Single(starts);
    }

    [Fact]
    public void Wide_and_zero_width_characters_have_their_terminal_widths()
    {
        Assert.Equal(10, Report.DisplayWidth("南京路餐厅"));
        Assert.Equal(4, Report.DisplayWidth("Cafe\u0301".Normalize(System.Text.NormalizationForm.FormD)[..4]));
        Assert.Equal(4, Report.DisplayWidth("（）"));
        Assert.Equal(2, Report.DisplayWidth("😀"));
    }

    private static int IndexOfThirdColumn(string line)
    {
        // Columns are separated by at least two spaces.
        var separators = 0;
        for (var i = 1; i < line.Length; i++)
        {
            if (line[i] != ' ' && line[i - 1] == ' ' && i >= 2 && line[i - 2] == ' ' && ++separators == 2)
            {
                return i;
            }
        }

        throw new InvalidOperationException($"no third column in '{line}'");
    }
}
