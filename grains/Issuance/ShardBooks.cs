using Campaigns.Grains.Common;
using Campaigns.Grains.Ledger;

namespace Campaigns.Grains.Issuance;

/// <summary>
/// A shard's books of its users: which request ids issued which voucher, how many vouchers each
/// user holds (in all and per day), and which claims are admitted but not yet written. The shard
/// is the only writer of its users (its epoch fences any other activation), so these books, not
/// an index in the ledger, decide idempotency and the per-user limits. They are rebuilt on
/// activation from the shard's own rows, read in issue order. Not thread-safe: the grain's turns use it one at a time.
/// </summary>
public sealed class ShardBooks
{
    // A claim's idempotency key is (channel, user, request id): the user's shard sees all of it.
    private readonly Dictionary<(string Channel, string UserId, string RequestId), IssuedRequest> _issued = [];
    private readonly Dictionary<string, UserBook> _users = new(StringComparer.Ordinal);
    private readonly Dictionary<string, UserBook> _usersPending = new(StringComparer.Ordinal);

    /// <summary>The last seq this shard has written (0 before its first voucher).</summary>
    public long LastSeq { get; private set; }

    /// <summary>Vouchers written by this shard.</summary>
    public int Issued => _issued.Count;

    /// <summary>A voucher now in the ledger: it counts for its request id and against its user's limits.</summary>
    public void Remember(VoucherRecord voucher)
    {
        _issued[(voucher.Channel, voucher.UserId, voucher.RequestId)] = new IssuedRequest(voucher.District, voucher.Key);
        Book(_users, voucher.UserId).Add(voucher.IssuedDay, voucher.Seq);
        LastSeq = Math.Max(LastSeq, voucher.Seq);
    }

    /// <summary>The voucher a channel's request id issued to a user, if any.</summary>
    public IssuedRequest? IssuedFor(string channel, string userId, string requestId) => _issued.GetValueOrDefault((channel, userId, requestId));

    /// <summary>Why <paramref name="userId"/> may not claim one more on <paramref name="day"/>, counting claims in flight; null if they may.</summary>
    public (Refusal Reason, string Message)? LimitRefusal(string userId, DateOnly day, int perUserLimit, int perUserDailyLimit)
    {
        var held = _users.GetValueOrDefault(userId);
        var inFlight = _usersPending.GetValueOrDefault(userId);
        if ((held?.Count ?? 0) + (inFlight?.Count ?? 0) >= perUserLimit)
        {
            return (Refusal.UserLimitReached, $"user '{userId}' already holds the {perUserLimit} voucher(s) allowed per user");
        }

        if (perUserDailyLimit > 0 && (held?.On(day) ?? 0) + (inFlight?.On(day) ?? 0) >= perUserDailyLimit)
        {
            return (Refusal.UserDailyLimitReached, $"user '{userId}' already received the {perUserDailyLimit} voucher(s) allowed per day");
        }

        return null;
    }

    /// <summary>A claim taken on for <paramref name="userId"/>: until it is released it counts against the user's limits.</summary>
    public void Admit(string userId, DateOnly day) => Book(_usersPending, userId).Add(day, seq: 0);

    /// <summary>A claim answered (written, refused or failed): it no longer counts as in flight. Call once per <see cref="Admit"/>.</summary>
    public void Release(string userId, DateOnly day)
    {
        // Books back at zero go: these hold claims in flight, not every user the shard has seen.
        if (_usersPending.TryGetValue(userId, out var book) && book.Remove(day))
        {
            _usersPending.Remove(userId);
        }
    }

    /// <summary>The keys of a user's vouchers from this shard, newest first.</summary>
    public IReadOnlyList<VoucherKey> KeysOf(string userId, int campaignNumber, int shard) =>
        _users.TryGetValue(userId, out var book)
            ? [.. book.Seqs.AsEnumerable().Reverse().Select(seq => new VoucherKey(campaignNumber, shard, seq))]
            : [];

    private static UserBook Book(Dictionary<string, UserBook> books, string userId)
    {
        if (!books.TryGetValue(userId, out var book))
        {
            books[userId] = book = new UserBook();
        }

        return book;
    }

    /// <summary>One user's vouchers: how many, how many per issuance day, and their seqs in issue order.</summary>
    private sealed class UserBook
    {
        // Most users hold one voucher of a campaign, on one day: a list beats a dictionary here.
        private readonly List<(DateOnly Day, int Count)> _days = new(1);

        public int Count { get; private set; }

        public List<long> Seqs { get; } = new(1);

        public int On(DateOnly day)
        {
            foreach (var (d, count) in _days)
            {
                if (d == day)
                {
                    return count;
                }
            }

            return 0;
        }

        public void Add(DateOnly day, long seq)
        {
            Count++;
            if (seq > 0)
            {
                Seqs.Add(seq);
            }

            for (var i = 0; i < _days.Count; i++)
            {
                if (_days[i].Day == day)
                {
                    _days[i] = (day, _days[i].Count + 1);
                    return;
                }
            }

            _days.Add((day, 1));
        }

        /// <summary>Takes one off <paramref name="day"/>; true when the book is empty after.</summary>
        public bool Remove(DateOnly day)
        {
            Count--;
            for (var i = 0; i < _days.Count; i++)
            {
                if (_days[i].Day == day)
                {
                    var left = _days[i].Count - 1;
                    if (left == 0)
                    {
                        _days.RemoveAt(i);
                    }
                    else
                    {
                        _days[i] = (day, left);
                    }

                    break;
                }
            }

            return Count == 0;
        }
    }
}

/// <summary>What a user's request id issued: for which district, and the voucher's key.</summary>
public sealed record IssuedRequest(string District, VoucherKey Key);
