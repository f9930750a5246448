using System.Collections.Concurrent;
using Campaigns.Grains.Common;
using Campaigns.Grains.Ledger;

namespace Campaigns.Grains.Issuance;

/// <summary>
/// A shard's books of its users: which request ids issued which voucher, how many vouchers each
/// user holds (in all and per day), and which claims are admitted but not yet written. The shard
/// is the only writer of its users (its epoch fences any other activation), so these books, not
/// an index in the ledger, decide idempotency and the per-user limits. They are rebuilt on
/// activation from the shard's own rows, read in issue order. Not thread-safe: the grain's turns
/// use it one at a time, except for <see cref="Knows"/>, which any thread may ask.
/// </summary>
public sealed class ShardBooks
{
    // A claim's idempotency key is (channel, user, request id): the user's shard sees all of it, and
    // the user's book holds the request ids of their vouchers, so one lookup by user serves both the
    // limits and idempotency. Concurrent maps so that Knows may read them from outside a turn; the
    // books in them are only ever touched in turns.
    private ConcurrentDictionary<string, UserBook> _users = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, UserBook> _usersPending = new(StringComparer.Ordinal);

    /// <summary>The last seq this shard has written (0 before its first voucher).</summary>
    public long LastSeq { get; private set; }

    /// <summary>Vouchers written by this shard.</summary>
    public int Issued { get; private set; }

    /// <summary>Makes room for <paramref name="vouchers"/> more, so a rebuild does not grow the books step by step.</summary>
    public void Expect(int vouchers)
    {
        if (_users.IsEmpty)
        {
            // One writer, so one lock is enough; readers take none.
            _users = new ConcurrentDictionary<string, UserBook>(concurrencyLevel: 1, vouchers, StringComparer.Ordinal);
        }
    }

    /// <summary>
    /// Whether the user holds a voucher of this shard or has a claim in flight here; safe on any
    /// thread. Claims in flight are looked at first, and a written claim is remembered before it
    /// is released, so a user between the two is never missed.
    /// </summary>
    public bool Knows(string userId) => _usersPending.ContainsKey(userId) || _users.ContainsKey(userId);

    /// <summary>A voucher now in the ledger: it counts for its request id and against its user's limits.</summary>
    public void Remember(VoucherRecord voucher) =>
        Remember(new ShardIssue(voucher.Seq, voucher.UserId, voucher.Channel, voucher.RequestId, voucher.District, voucher.IssuedDay, voucher.IssuedAt));

    /// <summary>A voucher read back from the ledger when the shard rebuilds its books.</summary>
    public void Remember(ShardIssue issue)
    {
        Book(_users, issue.UserId).Add(issue.IssuedDay, new Written(issue.Channel, issue.RequestId, new IssuedRequest(issue.District, issue.Seq)));
        Issued++;
        LastSeq = Math.Max(LastSeq, issue.Seq);
    }

    /// <summary>The voucher a channel's request id issued to a user, if any.</summary>
    public IssuedRequest? IssuedFor(string channel, string userId, string requestId) =>
        _users.TryGetValue(userId, out var book) ? book.IssuedFor(channel, requestId) : null;

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
    public void Admit(string userId, DateOnly day) => Book(_usersPending, userId).Add(day, written: null);

    /// <summary>A claim answered (written, refused or failed): it no longer counts as in flight. Call once per <see cref="Admit"/>.</summary>
    public void Release(string userId, DateOnly day)
    {
        // Books back at zero go: these hold claims in flight, not every user the shard has seen.
        if (_usersPending.TryGetValue(userId, out var book) && book.Remove(day))
        {
            _usersPending.TryRemove(userId, out _);
        }
    }

    /// <summary>The keys of a user's vouchers from this shard, newest first.</summary>
    public IReadOnlyList<VoucherKey> KeysOf(string userId, int campaignNumber, int shard) =>
        _users.TryGetValue(userId, out var book)
            ? [.. book.Seqs.Reverse().Select(seq => new VoucherKey(campaignNumber, shard, seq))]
            : [];

    private static UserBook Book(ConcurrentDictionary<string, UserBook> books, string userId)
    {
        if (!books.TryGetValue(userId, out var book))
        {
            books[userId] = book = new UserBook();
        }

        return book;
    }

    /// <summary>A voucher in a user's book: the claim's channel and request id, and what it issued.</summary>
    private readonly record struct Written(string Channel, string RequestId, IssuedRequest Issued);

    /// <summary>One user's vouchers: how many, how many per issuance day, and their request ids and seqs in issue order.</summary>
    /// <remarks>
    /// Most users hold one voucher of a campaign, claimed on one day: that one is kept in fields,
    /// and lists are made only for a second. A shard rebuilds its books for every user it has, on
    /// the first claim after a restart, so each allocation here is paid hundreds of thousands of times.
    /// </remarks>
    private sealed class UserBook
    {
        private DateOnly _day;
        private int _onDay;
        private List<(DateOnly Day, int Count)>? _otherDays;
        // Past this many vouchers a user's request ids are also kept in a dictionary: a limit per
        // user may be set high, and a scan per claim would then grow with the user's vouchers.
        private const int ScannedUpTo = 8;

        private Written? _first;
        private List<Written>? _later;
        private Dictionary<(string Channel, string RequestId), IssuedRequest>? _byRequest;

        public int Count { get; private set; }

        /// <summary>The seqs, oldest first.</summary>
        public IEnumerable<long> Seqs => Vouchers.Select(w => w.Issued.Seq);

        /// <summary>The user's vouchers, oldest first.</summary>
        private IEnumerable<Written> Vouchers => _first is not { } first ? [] : _later is null ? [first] : _later.Prepend(first);

        /// <summary>What the channel's request id issued; the latest, should the ledger hold it twice.</summary>
        public IssuedRequest? IssuedFor(string channel, string requestId)
        {
            if (_byRequest is not null)
            {
                return _byRequest.TryGetValue((channel, requestId), out var issued) ? issued : null;
            }

            IssuedRequest? found = _first is { } first && Same(first, channel, requestId) ? first.Issued : null;
            foreach (var written in _later ?? [])
            {
                if (Same(written, channel, requestId))
                {
                    found = written.Issued;
                }
            }

            return found;

            static bool Same(Written written, string channel, string requestId) =>
                string.Equals(written.RequestId, requestId, StringComparison.Ordinal) && string.Equals(written.Channel, channel, StringComparison.Ordinal);
        }

        /// <summary>Keeps a later voucher in the dictionary, made once the user holds more than <see cref="ScannedUpTo"/>.</summary>
        private void Index(Written voucher)
        {
            if (_byRequest is not null)
            {
                _byRequest[(voucher.Channel, voucher.RequestId)] = voucher.Issued;
            }
            else if (_later!.Count >= ScannedUpTo)
            {
                _byRequest = [];
                foreach (var written in Vouchers)
                {
                    _byRequest[(written.Channel, written.RequestId)] = written.Issued;
                }
            }
        }

        public int On(DateOnly day)
        {
            if (_onDay > 0 && _day == day)
            {
                return _onDay;
            }

            foreach (var (d, count) in _otherDays ?? [])
            {
                if (d == day)
                {
                    return count;
                }
            }

            return 0;
        }

        /// <summary>One more on <paramref name="day"/>; <paramref name="written"/> null for a claim not yet written.</summary>
        public void Add(DateOnly day, Written? written)
        {
            Count++;
            if (written is { } voucher)
            {
                if (_first is null)
                {
                    _first = voucher;
                }
                else
                {
                    (_later ??= []).Add(voucher);
                    Index(voucher);
                }
            }

            if (_onDay == 0 || _day == day)
            {
                (_day, _onDay) = (day, _onDay + 1);
                return;
            }

            _otherDays ??= [];
            for (var i = 0; i < _otherDays.Count; i++)
            {
                if (_otherDays[i].Day == day)
                {
                    _otherDays[i] = (day, _otherDays[i].Count + 1);
                    return;
                }
            }

            _otherDays.Add((day, 1));
        }

        /// <summary>Takes one claim not yet written off <paramref name="day"/>; true when the book is empty after.</summary>
        public bool Remove(DateOnly day)
        {
            Count--;
            if (_onDay > 0 && _day == day)
            {
                _onDay--;
            }
            else if (_otherDays is not null)
            {
                for (var i = 0; i < _otherDays.Count; i++)
                {
                    if (_otherDays[i].Day == day)
                    {
                        var left = _otherDays[i].Count - 1;
                        if (left == 0)
                        {
                            _otherDays.RemoveAt(i);
                        }
                        else
                        {
                            _otherDays[i] = (day, left);
                        }

                        break;
                    }
                }
            }

            return Count == 0;
        }
    }
}

/// <summary>What a user's request id issued: for which district, and the voucher's seq in its shard.</summary>
public readonly record struct IssuedRequest(string District, long Seq);
