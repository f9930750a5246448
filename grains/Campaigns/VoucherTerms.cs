using Campaigns.Grains.Common;

namespace Campaigns.Grains.Campaigns;

/// <summary>What one voucher is worth: the discount rule every voucher of a campaign carries.</summary>
[GenerateSerializer, Immutable]
public sealed record VoucherTerms(
    [property: Id(0)] DiscountKind Kind,
    [property: Id(1)] long FaceValueCents,
    [property: Id(2)] long MinSpendCents,
    [property: Id(3)] int PercentOff,
    [property: Id(4)] int Fold,
    [property: Id(5)] long MaxDiscountCents)
{
    /// <summary>
    /// The most one voucher can cost the organiser: what it counts against the budget.
    /// </summary>
    public long LiabilityCents => Kind == DiscountKind.AmountOff ? FaceValueCents : MaxDiscountCents;

    /// <summary>
    /// The discount on an order. Rounding: percentages round down to the cent (the customer
    /// never gets more than the stated rate), then the cap applies, then the order amount.
    /// FOLD_PRICE: the customer pays fold/10 of the order rounded up, so the discount is the
    /// order minus that. The discount never exceeds the order amount.
    /// </summary>
    public long DiscountFor(long orderAmountCents)
    {
        if (orderAmountCents < MinSpendCents)
        {
            throw new CampaignsException(Refusal.MinSpendNotMet,
                $"the order of {MoneyText.Of(orderAmountCents)} is below the voucher's minimum spend of {MoneyText.Of(MinSpendCents)}");
        }

        var discount = Kind switch
        {
            DiscountKind.AmountOff => FaceValueCents,
            DiscountKind.PercentOff => Math.Min(orderAmountCents * PercentOff / 100, MaxDiscountCents),
            DiscountKind.FoldPrice => Math.Min(orderAmountCents - CeilDiv(orderAmountCents * Fold, 10), MaxDiscountCents),
            _ => 0,
        };
        return Math.Clamp(discount, 0, orderAmountCents);
    }

    /// <summary>Checks the terms as an organiser entered them; the message names the field.</summary>
    public void Validate()
    {
        if (MinSpendCents < 0)
        {
            throw CampaignsException.Invalid("min_spend_cents", "must not be negative");
        }

        switch (Kind)
        {
            case DiscountKind.AmountOff:
                if (FaceValueCents <= 0)
                {
                    throw CampaignsException.Invalid("face_value_cents", "must be positive for AMOUNT_OFF");
                }

                break;
            case DiscountKind.PercentOff:
                if (PercentOff is < 1 or > 99)
                {
                    throw CampaignsException.Invalid("percent_off", "must be 1-99 for PERCENT_OFF");
                }

                RequireCap();
                break;
            case DiscountKind.FoldPrice:
                if (Fold is < 1 or > 9)
                {
                    throw CampaignsException.Invalid("fold", "must be 1-9 for FOLD_PRICE (3 = pay 30%)");
                }

                RequireCap();
                break;
            default:
                throw CampaignsException.Invalid("kind", "must be AMOUNT_OFF, PERCENT_OFF or FOLD_PRICE");
        }

        // A value the kind never reads is a mistake in the definition (a face value on a 3折
        // campaign): refused rather than stored beside terms it does not change.
        RefuseForeign("face_value_cents", FaceValueCents, DiscountKind.AmountOff);
        RefuseForeign("percent_off", PercentOff, DiscountKind.PercentOff);
        RefuseForeign("fold", Fold, DiscountKind.FoldPrice);
        RefuseForeign("max_discount_cents", MaxDiscountCents, DiscountKind.PercentOff, DiscountKind.FoldPrice);
    }

    private void RefuseForeign(string field, long value, params DiscountKind[] usedBy)
    {
        if (value != 0 && !usedBy.Contains(Kind))
        {
            throw CampaignsException.Invalid(field, $"does not apply to {KindName(Kind)} (only to {string.Join(" and ", usedBy.Select(KindName))}); leave it 0");
        }
    }

    private static string KindName(DiscountKind kind) => kind switch
    {
        DiscountKind.AmountOff => "AMOUNT_OFF",
        DiscountKind.PercentOff => "PERCENT_OFF",
        _ => "FOLD_PRICE",
    };

    private void RequireCap()
    {
        // An uncapped percentage is an unbounded liability: no organiser can budget for it.
        if (MaxDiscountCents <= 0)
        {
            throw CampaignsException.Invalid("max_discount_cents", "must be positive for PERCENT_OFF and FOLD_PRICE");
        }
    }

    private static long CeilDiv(long a, long b) => (a + b - 1) / b;
}
