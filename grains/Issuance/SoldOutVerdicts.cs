using Campaigns.Grains.Campaigns;
using Campaigns.Grains.Common;

namespace Campaigns.Grains.Issuance;

/// <summary>
/// A shard's word, per channel, that it has nothing left to issue: noted in a turn that refused a
/// claim for want of stock, and read on any thread by its silo's API, which then refuses the
/// claims of users the shard does not know without queuing a turn (<see cref="LocalShard"/>).
/// A verdict holds only while everything it rests on is unchanged: the same campaign snapshot, no
/// unit freed since (<see cref="ShardStock.Freed"/>), and the shard's memory of the exhaustion
/// not yet run out.
/// </summary>
public sealed class SoldOutVerdicts
{
    // Replaced whole, never changed in place: readers on other threads see one list or the next.
    private Verdict[] _verdicts = [];

    /// <summary>In a turn: <paramref name="channel"/> is refused with <paramref name="refusal"/> until <paramref name="until"/>, as things stand.</summary>
    public void Note(string channel, Refusal refusal, DateTimeOffset until, CampaignSnapshot campaign, long freed)
    {
        var verdict = new Verdict(channel, refusal, until, campaign, freed);
        var current = _verdicts;
        if (Array.IndexOf(current, verdict) >= 0)
        {
            return; // already said: no new list for every refused claim that reaches the turn
        }

        // Verdicts that rest on an older campaign or older stock hold no more, so they go too.
        Verdict[] next = [.. current.Where(v => v.Channel != channel && ReferenceEquals(v.Campaign, campaign) && v.Freed == freed), verdict];
        Volatile.Write(ref _verdicts, next);
    }

    /// <summary>In a turn: nothing said so far holds any more.</summary>
    public void Withdraw() => Volatile.Write(ref _verdicts, []);

    /// <summary>On any thread: the refusal a claim on <paramref name="channel"/> gets now, if a verdict still holds.</summary>
    public Refusal? For(string channel, DateTimeOffset now, CampaignSnapshot campaign, long freed)
    {
        foreach (var verdict in Volatile.Read(ref _verdicts))
        {
            if (string.Equals(verdict.Channel, channel, StringComparison.Ordinal))
            {
                return now < verdict.Until && ReferenceEquals(verdict.Campaign, campaign) && verdict.Freed == freed ? verdict.Refusal : null;
            }
        }

        return null;
    }

    private sealed record Verdict(string Channel, Refusal Refusal, DateTimeOffset Until, CampaignSnapshot Campaign, long Freed)
    {
        // The snapshot by identity: a new one, even if equal, may follow a change of stock or status.
        public bool Equals(Verdict? other) =>
            other is not null && Channel == other.Channel && Refusal == other.Refusal && Until == other.Until
            && ReferenceEquals(Campaign, other.Campaign) && Freed == other.Freed;

        public override int GetHashCode() => HashCode.Combine(Channel, Refusal, Until, Freed);
    }
}
