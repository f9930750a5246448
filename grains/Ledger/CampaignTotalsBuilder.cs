namespace Campaigns.Grains.Ledger;

/// <summary>
/// Sums a campaign's figures from the rows a backend's reporting query groups: vouchers by
/// (channel, district) and redemption events by the merchant's district.
/// </summary>
public sealed class CampaignTotalsBuilder
{
    private readonly Dictionary<string, (long Issued, long Redeemed)> _byChannel = new(StringComparer.Ordinal);
    private readonly Dictionary<string, (long Issued, long Redeemed, long RedeemedDiscountCents)> _byDistrict = new(StringComparer.Ordinal);
    private long _issued, _liability, _reserved, _redeemed, _expired, _refunded, _discount, _orderTotal;

    /// <summary>Vouchers of one channel and district: how many, their liability, and how many are reserved, redeemed and expired now.</summary>
    public void AddVouchers(string channel, string district, long count, long liabilityCents, long reserved, long redeemed, long expired)
    {
        (_issued, _liability, _reserved, _redeemed, _expired) = (_issued + count, _liability + liabilityCents, _reserved + reserved, _redeemed + redeemed, _expired + expired);
        var c = _byChannel.GetValueOrDefault(channel);
        _byChannel[channel] = (c.Issued + count, c.Redeemed + redeemed);
        var d = _byDistrict.GetValueOrDefault(district);
        _byDistrict[district] = (d.Issued + count, d.Redeemed, d.RedeemedDiscountCents);
    }

    /// <summary>
    /// Redemption events at merchants of one district, net of refunds: a REFUNDED event carries the
    /// negative discount and (counted negative here) its order's amount, so it cancels the REDEEMED
    /// event it reverses.
    /// </summary>
    public void AddEvents(string merchantDistrict, long redemptions, long refunds, long netDiscountCents, long netOrderTotalCents)
    {
        (_refunded, _discount, _orderTotal) = (_refunded + refunds, _discount + netDiscountCents, _orderTotal + netOrderTotalCents);
        var d = _byDistrict.GetValueOrDefault(merchantDistrict);
        _byDistrict[merchantDistrict] = (d.Issued, d.Redeemed + redemptions - refunds, d.RedeemedDiscountCents + netDiscountCents);
    }

    public CampaignTotals Build() => new()
    {
        Issued = _issued,
        IssuedLiabilityCents = _liability,
        Reserved = _reserved,
        Redeemed = _redeemed,
        Refunded = _refunded,
        Expired = _expired,
        RedeemedDiscountCents = _discount,
        RedeemedOrderTotalCents = _orderTotal,
        ByChannel = _byChannel,
        ByDistrict = _byDistrict,
    };
}
