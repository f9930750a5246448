using Campaigns.Grains.Campaigns;
using Campaigns.Grains.Common;

namespace Campaigns.Tests.Rules;

public sealed class VoucherTermsTests
{
    private static VoucherTerms AmountOff(long faceValue, long minSpend) => new(DiscountKind.AmountOff, faceValue, minSpend, 0, 0, 0);

    private static VoucherTerms PercentOff(int percent, long cap, long minSpend = 0) => new(DiscountKind.PercentOff, 0, minSpend, percent, 0, cap);

    private static VoucherTerms FoldPrice(int fold, long cap, long minSpend = 0) => new(DiscountKind.FoldPrice, 0, minSpend, 0, fold, cap);

    // AMOUNT_OFF (满减)

    [Fact]
    public void Amount_off_500_on_an_order_of_exactly_the_2000_min_spend_discounts_500() =>
        Assert.Equal(500, AmountOff(500, 2000).DiscountFor(2000));

    [Fact]
    public void Amount_off_on_an_order_one_cent_below_the_min_spend_is_refused_with_MIN_SPEND_NOT_MET() =>
        Refused.With(Refusal.MinSpendNotMet, () => AmountOff(500, 2000).DiscountFor(1999));

    [Fact]
    public void Amount_off_5000_on_an_order_of_3000_discounts_the_whole_order_and_no_more() =>
        Assert.Equal(3000, AmountOff(5000, 0).DiscountFor(3000));

    [Fact]
    public void Amount_off_with_no_min_spend_on_a_1_cent_order_discounts_1_cent() =>
        Assert.Equal(1, AmountOff(500, 0).DiscountFor(1));

    [Fact]
    public void Amount_off_on_a_zero_order_without_min_spend_discounts_nothing() =>
        Assert.Equal(0, AmountOff(500, 0).DiscountFor(0));

    // PERCENT_OFF

    [Fact]
    public void Percent_off_15_on_an_order_of_999_cents_rounds_down_to_149() =>
        Assert.Equal(149, PercentOff(15, 10_000).DiscountFor(999));

    [Fact]
    public void Percent_off_15_on_an_order_of_1000_cents_discounts_exactly_150() =>
        Assert.Equal(150, PercentOff(15, 10_000).DiscountFor(1000));

    [Fact]
    public void Percent_off_15_on_an_order_of_100000_is_capped_at_the_10000_max_discount() =>
        Assert.Equal(10_000, PercentOff(15, 10_000).DiscountFor(100_000));

    [Fact]
    public void Percent_off_99_on_a_1_cent_order_rounds_down_to_nothing() =>
        Assert.Equal(0, PercentOff(99, 10_000).DiscountFor(1));

    [Fact]
    public void Percent_off_below_its_min_spend_is_refused_with_MIN_SPEND_NOT_MET() =>
        Refused.With(Refusal.MinSpendNotMet, () => PercentOff(20, 10_000, minSpend: 5000).DiscountFor(4999));

    // FOLD_PRICE (折)

    [Fact]
    public void Fold_3_on_an_order_of_1001_cents_charges_301_and_discounts_700() =>
        Assert.Equal(700, FoldPrice(3, 100_000).DiscountFor(1001));

    [Fact]
    public void Fold_3_on_an_order_of_1000_cents_charges_300_and_discounts_700() =>
        Assert.Equal(700, FoldPrice(3, 100_000).DiscountFor(1000));

    [Fact]
    public void Fold_1_on_an_order_of_10_cents_charges_1_and_discounts_9() =>
        Assert.Equal(9, FoldPrice(1, 100_000).DiscountFor(10));

    [Fact]
    public void Fold_9_on_a_1_cent_order_charges_the_whole_cent_and_discounts_nothing() =>
        Assert.Equal(0, FoldPrice(9, 100_000).DiscountFor(1));

    [Fact]
    public void Fold_3_on_an_order_of_1001_cents_is_capped_at_the_500_max_discount() =>
        Assert.Equal(500, FoldPrice(3, 500).DiscountFor(1001));

    [Fact]
    public void Fold_below_its_min_spend_is_refused_with_MIN_SPEND_NOT_MET() =>
        Refused.With(Refusal.MinSpendNotMet, () => FoldPrice(5, 1000, minSpend: 100).DiscountFor(99));

    [Fact]
    public void Any_terms_on_any_order_discount_between_nothing_and_the_order_and_follow_their_rate()
    {
        var random = new Random(20261111);
        for (var i = 0; i < 20_000; i++)
        {
            var order = random.Next(4) == 0 ? random.Next(1, 100) : random.NextInt64(1, 1_000_000_000);
            var cap = random.NextInt64(1, 2_000_000);
            var terms = random.Next(3) switch
            {
                0 => AmountOff(random.NextInt64(1, 2_000_000), 0),
                1 => PercentOff(random.Next(1, 100), cap),
                _ => FoldPrice(random.Next(1, 10), cap),
            };

            var discount = terms.DiscountFor(order);

            Assert.InRange(discount, 0, order);
            switch (terms.Kind)
            {
                case DiscountKind.AmountOff:
                    Assert.Equal(Math.Min(terms.FaceValueCents, order), discount);
                    break;
                case DiscountKind.PercentOff:
                    Assert.True(discount * 100 <= order * terms.PercentOff, $"{terms} on {order}: {discount} is more than the rate");
                    Assert.Equal(Math.Min(cap, order * terms.PercentOff / 100), discount);
                    break;
                default:
                    var pays = order - discount;
                    Assert.True(pays * 10 >= order * terms.Fold, $"{terms} on {order}: the customer pays {pays}, less than fold/10");
                    Assert.Equal(Math.Min(cap, order - ((order * terms.Fold) + 9) / 10), discount);
                    break;
            }
        }
    }

    // Liability: what a voucher counts against the budget.

    [Fact]
    public void An_amount_off_voucher_is_liable_for_its_face_value() =>
        Assert.Equal(500, AmountOff(500, 2000).LiabilityCents);

    [Fact]
    public void A_percent_off_voucher_is_liable_for_its_cap() =>
        Assert.Equal(3000, PercentOff(20, 3000).LiabilityCents);

    [Fact]
    public void A_fold_price_voucher_is_liable_for_its_cap() =>
        Assert.Equal(8000, FoldPrice(3, 8000).LiabilityCents);

    // Validation: the message names the field.

    [Fact]
    public void Well_formed_terms_of_each_kind_pass_validation()
    {
        AmountOff(1, 0).Validate();
        PercentOff(1, 1).Validate();
        PercentOff(99, 1).Validate();
        FoldPrice(1, 1).Validate();
        FoldPrice(9, 1).Validate();
    }

    [Theory]
    [InlineData(0)]
    [InlineData(100)]
    [InlineData(-5)]
    public void Percent_off_outside_1_to_99_is_refused_naming_percent_off(int percent) =>
        Refused.InvalidField("percent_off", () => PercentOff(percent, 1000).Validate());

    [Theory]
    [InlineData(0)]
    [InlineData(10)]
    public void Fold_outside_1_to_9_is_refused_naming_fold(int fold) =>
        Refused.InvalidField("fold", () => FoldPrice(fold, 1000).Validate());

    [Fact]
    public void Percent_off_without_a_cap_is_refused_naming_max_discount_cents() =>
        Refused.InvalidField("max_discount_cents", () => PercentOff(20, 0).Validate());

    [Fact]
    public void Fold_price_without_a_cap_is_refused_naming_max_discount_cents() =>
        Refused.InvalidField("max_discount_cents", () => FoldPrice(3, 0).Validate());

    [Fact]
    public void A_negative_min_spend_is_refused_naming_min_spend_cents() =>
        Refused.InvalidField("min_spend_cents", () => AmountOff(500, -1).Validate());

    [Theory]
    [InlineData(0)]
    [InlineData(-500)]
    public void Amount_off_with_a_face_value_that_is_not_positive_is_refused_naming_face_value_cents(long faceValue) =>
        Refused.InvalidField("face_value_cents", () => AmountOff(faceValue, 0).Validate());

    [Fact]
    public void An_unknown_discount_kind_is_refused_naming_kind() =>
        Refused.InvalidField("kind", () => new VoucherTerms(0, 500, 0, 10, 3, 1000).Validate());
}
