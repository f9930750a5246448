using System.Reflection;
using Campaigns.Grains.Common;
using Campaigns.Proto;
using Google.Protobuf.Reflection;

namespace Campaigns.Tests.Rules;

public sealed class RefusalReasonTests
{
    private const string Prefix = "ERROR_REASON_";

    private static readonly IReadOnlyList<string> ProtoReasons = typeof(ErrorReason)
        .GetFields(BindingFlags.Public | BindingFlags.Static)
        .Select(f => f.GetCustomAttribute<OriginalNameAttribute>()?.Name ?? throw new InvalidOperationException($"{f.Name} has no original name"))
        .ToList();

    [Theory]
    [InlineData(Refusal.SoldOut, "SOLD_OUT")]
    [InlineData(Refusal.IdempotencyKeyReused, "IDEMPOTENCY_KEY_REUSED")]
    [InlineData(Refusal.InvalidArgument, "INVALID_ARGUMENT")]
    [InlineData(Refusal.MerchantOutOfDistrict, "MERCHANT_OUT_OF_DISTRICT")]
    [InlineData(Refusal.VoucherNotYetValid, "VOUCHER_NOT_YET_VALID")]
    [InlineData(Refusal.MissingApiKey, "MISSING_API_KEY")]
    [InlineData(Refusal.Unavailable, "UNAVAILABLE")]
    public void A_refusal_is_named_by_its_upper_case_api_reason(Refusal refusal, string reason) =>
        Assert.Equal(reason, refusal.Reason());

    [Fact]
    public void Every_refusal_is_a_reason_of_the_proto_ErrorReason_enum()
    {
        Assert.All(Enum.GetValues<Refusal>(), refusal => Assert.Contains(Prefix + refusal.Reason(), ProtoReasons));
    }

    [Fact]
    public void Every_proto_reason_but_UNSPECIFIED_has_a_refusal()
    {
        var reasons = Enum.GetValues<Refusal>().Select(r => Prefix + r.Reason()).ToHashSet(StringComparer.Ordinal);

        Assert.All(ProtoReasons.Where(r => r != Prefix + "UNSPECIFIED"), reason => Assert.Contains(reason, reasons));
    }

    [Fact]
    public void No_two_refusals_share_a_reason() =>
        Assert.Equal(Enum.GetValues<Refusal>().Length, Enum.GetValues<Refusal>().Select(r => r.Reason()).Distinct(StringComparer.Ordinal).Count());

    [Fact]
    public void The_proto_enum_value_of_each_reason_names_the_same_refusal()
    {
        foreach (var refusal in Enum.GetValues<Refusal>())
        {
            var field = typeof(ErrorReason).GetFields(BindingFlags.Public | BindingFlags.Static)
                .Single(f => f.GetCustomAttribute<OriginalNameAttribute>()!.Name == Prefix + refusal.Reason());
            Assert.Equal(refusal.ToString(), field.Name);
        }
    }
}
