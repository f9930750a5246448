namespace Campaigns.Grains.Campaigns;

public enum DiscountKind
{
    AmountOff = 1,
    PercentOff = 2,
    FoldPrice = 3,
}

public enum CampaignStatus
{
    Draft = 1,
    Active = 2,
    Paused = 3,
    Ended = 4,
}
