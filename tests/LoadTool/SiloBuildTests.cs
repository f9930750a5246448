using Campaigns.LoadTests;

namespace Campaigns.Tests.LoadTool;

public sealed class SiloBuildTests
{
    [Fact]
    public void A_missing_release_build_is_told_with_the_command_that_builds_it()
    {
        var root = Path.Combine(Path.GetTempPath(), "campaigns-nobuild-" + Guid.NewGuid().ToString("N"));

        var hint = SiloProcess.MissingBuild(root);

        Assert.NotNull(hint);
        Assert.Contains($"dotnet build -c Release {Path.Combine(root, "silo")}", hint, StringComparison.Ordinal);
    }

    [Fact]
    public void A_built_silo_needs_no_hint()
    {
        var root = Path.Combine(Path.GetTempPath(), "campaigns-built-" + Guid.NewGuid().ToString("N"));
        var bin = Directory.CreateDirectory(Path.Combine(root, "silo", "bin", "Release", "net10.0"));
        try
        {
            File.WriteAllText(Path.Combine(bin.FullName, "Campaigns.Silo.dll"), "");

            Assert.Null(SiloProcess.MissingBuild(root));
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }
}
