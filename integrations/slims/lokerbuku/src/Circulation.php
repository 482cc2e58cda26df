<?php
// SPDX-License-Identifier: GPL-3.0-or-later
// Loans and returns by SLiMS's own circulation rules, as its staff
// circulation module applies them: membership expired or pending, item
// not for loan or already lent, another member ahead in the reserve queue,
// the loan limit (per loan rule, or of the member type); the due date
// from the loan period, moved off holidays, never after the membership
// ends; the reservation deleted with the loan; fines for a late return
// (grace period, optionally not counting holidays).
// It writes SLiMS's own tables inside the caller's transaction, each loan
// and return in the name of a SLiMS user and in system_log as a desk
// transaction is.

namespace Lokerbuku\Slims;

use Lokerbuku\Sync\Actor;
use Lokerbuku\Sync\Outcome;
use Lokerbuku\Sync\Text;

final class Circulation
{
    public const MEMBER_UNKNOWN = Outcome::MEMBER_UNKNOWN;
    public const MEMBER_EXPIRED = Outcome::MEMBER_EXPIRED;
    public const MEMBER_PENDING = Outcome::MEMBER_PENDING;
    public const ITEM_UNKNOWN = Outcome::ITEM_UNKNOWN;
    public const ITEM_LENT = Outcome::ITEM_LENT;
    public const ITEM_NO_LOAN = Outcome::ITEM_NO_LOAN;
    public const ITEM_RESERVED = Outcome::ITEM_RESERVED;
    public const LOAN_LIMIT = Outcome::LOAN_LIMIT;

    private ?array $holidays = null;

    public function __construct(private \PDO $db)
    {
    }

    /** Weekday names ('sun') and dates ('2026-12-25') that are holidays. */
    public function holidays(): array
    {
        if ($this->holidays === null) {
            $days = $dates = [];
            foreach ($this->db->query('SELECT holiday_dayname, holiday_date FROM holiday') as $r) {
                if ($r['holiday_date'] === null) {
                    $days[] = strtolower($r['holiday_dayname']);
                } else {
                    $dates[] = $r['holiday_date'];
                }
            }
            $this->holidays = ['days' => $days, 'dates' => $dates];
        }
        return $this->holidays;
    }

    public function isHoliday(string $date): bool
    {
        $h = $this->holidays();
        $day = strtolower((new \DateTimeImmutable($date))->format('D'));
        return in_array($date, $h['dates'], true) || in_array($day, $h['days'], true);
    }

    public static function addDays(string $date, int $days): string
    {
        return (new \DateTimeImmutable($date))->modify(($days >= 0 ? '+' : '') . $days . ' day')->format('Y-m-d');
    }

    /** The first day from $date on that is no holiday (at most a year on). */
    public function notHoliday(string $date): string
    {
        for ($i = 0; $i < 366 && $this->isHoliday($date); $i++) {
            $date = self::addDays($date, 1);
        }
        return $date;
    }

    public function member(string $memberId): ?array
    {
        $st = $this->db->prepare('SELECT m.member_id, m.member_name, m.member_email, m.member_type_id,'
            . ' m.expire_date, m.is_pending, t.loan_limit, t.loan_periode, t.fine_each_day,'
            . ' t.grace_periode FROM member m LEFT JOIN mst_member_type t'
            . ' ON t.member_type_id = m.member_type_id WHERE m.member_id = ?');
        $st->execute([$memberId]);
        return $st->fetch(\PDO::FETCH_ASSOC) ?: null;
    }

    /**
     * The loan rule for a member type and an item's collection type and
     * GMD, in SLiMS's order of preference (both, then collection type,
     * then GMD), else the member type's own figures (rule id 0).
     */
    public function loanRule(array $member, int $collTypeId, int $gmdId): array
    {
        $rule = [
            'loan_rules_id' => 0,
            'loan_limit' => (int) $member['loan_limit'],
            'loan_periode' => (int) $member['loan_periode'],
            'fine_each_day' => (int) $member['fine_each_day'],
            'grace_periode' => (int) $member['grace_periode'],
        ];
        if (!$collTypeId && !$gmdId) {
            return $rule;
        }
        $tries = [];
        $tries[] = ($collTypeId ? ' AND coll_type_id = ' . $collTypeId : '')
            . ($gmdId ? ' AND gmd_id = ' . $gmdId : '');
        if ($collTypeId) {
            $tries[] = ' AND coll_type_id = ' . $collTypeId;
        }
        if ($gmdId) {
            $tries[] = ' AND gmd_id = ' . $gmdId;
        }
        foreach ($tries as $where) {
            $st = $this->db->prepare('SELECT loan_rules_id, loan_limit, loan_periode, fine_each_day,'
                . ' grace_periode FROM mst_loan_rules WHERE member_type_id = ?' . $where
                . ' ORDER BY loan_rules_id LIMIT 1');
            $st->execute([(int) $member['member_type_id']]);
            if ($r = $st->fetch(\PDO::FETCH_ASSOC)) {
                return array_map('intval', $r);
            }
        }
        return $rule;
    }

    /** The member's active loans, of one loan rule when $ruleId is not 0. */
    public function activeLoans(string $memberId, int $ruleId = 0): int
    {
        $sql = 'SELECT COUNT(*) FROM loan WHERE member_id = ? AND is_lent = 1 AND is_return = 0';
        $args = [$memberId];
        if ($ruleId) {
            $sql .= ' AND loan_rules_id = ?';
            $args[] = $ruleId;
        }
        $st = $this->db->prepare($sql);
        $st->execute($args);
        return (int) $st->fetchColumn();
    }

    /** The due date of a loan made on $loanDate: loan period, off holidays, not after expiry. */
    public function dueDate(string $loanDate, int $periodDays, string $expireDate): string
    {
        $due = $periodDays < 1 ? $loanDate : self::addDays($loanDate, $periodDays);
        $due = $this->notHoliday($due);
        return strcmp($due, $expireDate) > 0 ? $expireDate : $due;
    }

    /**
     * Checks out items to a member as of $loanDate (Y-m-d, the library's
     * calendar), each by the rules; a refused item makes no loan. Returns
     * [item_code => ['loan_id' => n, 'due_date' => d] or ['refused' => why]].
     */
    public function checkOut(string $memberId, array $itemCodes, string $loanDate, Actor $actor): array
    {
        $out = [];
        $member = $this->member($memberId);
        foreach ($itemCodes as $code) {
            if (!$member) {
                $out[$code] = ['refused' => self::MEMBER_UNKNOWN];
                continue;
            }
            if ((int) $member['is_pending']) {
                $out[$code] = ['refused' => self::MEMBER_PENDING];
                continue;
            }
            if (strcmp($member['expire_date'], $loanDate) < 0) {
                $out[$code] = ['refused' => self::MEMBER_EXPIRED];
                continue;
            }
            $out[$code] = $this->checkOutOne($member, $code, $loanDate, $actor);
        }
        return $out;
    }

    /** Who a loan or return is made by: a SLiMS user, $where ' at book locker X'. */
    public function actor(?int $uid, string $where): Actor
    {
        $name = null;
        if ($uid !== null) {
            $st = $this->db->prepare('SELECT realname FROM user WHERE user_id = ?');
            $st->execute([$uid]);
            $name = $st->fetchColumn();
        }
        if ($name === false || $name === null) {
            throw new \InvalidArgumentException('no SLiMS user ' . ($uid ?? '(none)') . ' for loans' . $where);
        }
        return new Actor($uid, (string) $name, $where);
    }

    /** A line in SLiMS's system_log as its circulation module writes one. */
    public function log(string $memberId, string $message, string $action): void
    {
        $this->db->prepare('INSERT INTO system_log (log_type, id, log_location, sub_module, action, log_msg,'
            . " log_date) VALUES ('member', ?, 'circulation', 'Loan', ?, ?, ?)")
            ->execute([$memberId, $action, Text::cut($message, 2000), date('Y-m-d H:i:s')]);
    }

    private function checkOutOne(array $member, string $code, string $loanDate, Actor $actor): array
    {
        $st = $this->db->prepare('SELECT i.item_code, i.coll_type_id, b.gmd_id, s.no_loan'
            . ' FROM item i LEFT JOIN biblio b ON b.biblio_id = i.biblio_id'
            . ' LEFT JOIN mst_item_status s ON s.item_status_id = i.item_status_id'
            . ' WHERE i.item_code = ? FOR UPDATE');
        $st->execute([$code]);
        $item = $st->fetch(\PDO::FETCH_ASSOC);
        if (!$item) {
            return ['refused' => self::ITEM_UNKNOWN];
        }
        $lent = $this->db->prepare('SELECT COUNT(*) FROM loan WHERE item_code = ? AND is_lent = 1 AND is_return = 0');
        $lent->execute([$code]);
        if ((int) $lent->fetchColumn() > 0) {
            return ['refused' => self::ITEM_LENT];
        }
        if ((int) $item['no_loan'] > 0) {
            return ['refused' => self::ITEM_NO_LOAN];
        }
        $queue = $this->db->prepare('SELECT member_id FROM reserve WHERE item_code = ?'
            . ' ORDER BY reserve_date, reserve_id LIMIT 1');
        $queue->execute([$code]);
        $first = $queue->fetchColumn();
        if ($first !== false && $first !== $member['member_id']) {
            return ['refused' => self::ITEM_RESERVED];
        }
        $rule = $this->loanRule($member, (int) $item['coll_type_id'], (int) $item['gmd_id']);
        if ($rule['loan_limit'] <= $this->activeLoans($member['member_id'], $rule['loan_rules_id'])) {
            return ['refused' => self::LOAN_LIMIT];
        }
        $due = $this->dueDate($loanDate, $rule['loan_periode'], $member['expire_date']);
        $now = date('Y-m-d H:i:s');
        $this->db->prepare('INSERT INTO loan (item_code, member_id, loan_date, due_date, renewed,'
            . ' loan_rules_id, is_lent, is_return, input_date, last_update, uid)'
            . ' VALUES (?, ?, ?, ?, 0, ?, 1, 0, ?, ?, ?)')
            ->execute([$code, $member['member_id'], $loanDate, $due, $rule['loan_rules_id'], $now, $now,
                $actor->userId]);
        $loanId = (int) $this->db->lastInsertId();
        $this->log($member['member_id'], $actor->name . ' insert new loan (' . $code . ') for member ('
            . $member['member_id'] . ')' . $actor->where, 'Add');
        // Checking out a reserved item ends the member's reservation of it.
        $this->db->prepare('DELETE FROM reserve WHERE member_id = ? AND item_code = ?')
            ->execute([$member['member_id'], $code]);
        return ['loan_id' => $loanId, 'due_date' => $due];
    }

    /** SLiMS's setting ignore_holidays_fine_calc (stored PHP-serialized). */
    public function ignoreHolidaysInFines(): bool
    {
        $st = $this->db->prepare("SELECT setting_value FROM setting WHERE setting_name = 'ignore_holidays_fine_calc'");
        $st->execute();
        $v = $st->fetchColumn();
        if ($v === false || $v === null) {
            return false;
        }
        $u = @unserialize($v, ['allowed_classes' => false]);
        return (bool) ($u === false ? $v : $u);
    }

    /** Holidays from $from to $to, both included. */
    public function holidaysBetween(string $from, string $to): int
    {
        $n = 0;
        for ($d = $from; strcmp($d, $to) <= 0; $d = self::addDays($d, 1)) {
            $n += $this->isHoliday($d) ? 1 : 0;
        }
        return $n;
    }

    /**
     * The fine for a loan returned on $returnDate: ['days' => n, 'value' =>
     * amount], or null when it is not late (or within the grace period).
     */
    public function fine(array $loan, array $member, string $returnDate): ?array
    {
        if (strcmp($returnDate, $loan['due_date']) <= 0) {
            return null;
        }
        $days = (int) (new \DateTimeImmutable($loan['due_date']))->diff(new \DateTimeImmutable($returnDate))->days;
        $fineEachDay = (int) $member['fine_each_day'];
        $grace = (int) $member['grace_periode'];
        if ((int) $loan['loan_rules_id']) {
            $st = $this->db->prepare('SELECT fine_each_day, grace_periode FROM mst_loan_rules WHERE loan_rules_id = ?');
            $st->execute([(int) $loan['loan_rules_id']]);
            if ($r = $st->fetch(\PDO::FETCH_ASSOC)) {
                $fineEachDay = (int) $r['fine_each_day'];
                $grace = max($grace, (int) $r['grace_periode']);
            }
        }
        if ($grace > 0 && strcmp($returnDate, self::addDays($loan['due_date'], $grace)) <= 0) {
            return null;
        }
        if ($this->ignoreHolidaysInFines()) {
            $days -= $this->holidaysBetween($loan['due_date'], $returnDate);
        }
        if ($days < 1) {
            return null;
        }
        return ['days' => $days, 'value' => $days * $fineEachDay];
    }

    /**
     * Returns the active loan of an item as of $returnDate, writing a fine
     * for a late return. Returns ['loan_id', 'member_id', 'fine'] or null
     * when the item is not on loan.
     */
    public function checkIn(string $itemCode, string $returnDate, Actor $actor): ?array
    {
        $st = $this->db->prepare('SELECT loan_id, member_id, due_date, loan_rules_id FROM loan'
            . ' WHERE item_code = ? AND is_lent = 1 AND is_return = 0 ORDER BY loan_id LIMIT 1 FOR UPDATE');
        $st->execute([$itemCode]);
        $loan = $st->fetch(\PDO::FETCH_ASSOC);
        if (!$loan) {
            return null;
        }
        $member = $this->member($loan['member_id']) ?? [
            'fine_each_day' => 0, 'grace_periode' => 0];
        $fine = $this->fine($loan, $member, $returnDate);
        if ($fine && $fine['value'] > 0) {
            $this->db->prepare('INSERT INTO fines (fines_date, member_id, debet, credit, description)'
                . ' VALUES (?, ?, ?, 0, ?)')
                ->execute([$returnDate, $loan['member_id'], $fine['value'],
                    str_replace('{item_code}', $itemCode, self::t('Overdue fines for item {item_code}'))]);
        }
        $this->db->prepare('UPDATE loan SET is_return = 1, return_date = ?, last_update = ?'
            . ' WHERE loan_id = ?')->execute([$returnDate, date('Y-m-d H:i:s'), $loan['loan_id']]);
        $this->log($loan['member_id'], $actor->name . ' return item ' . $itemCode . ' for member ('
            . $loan['member_id'] . ')' . $actor->where, 'Return');
        return ['loan_id' => (int) $loan['loan_id'], 'member_id' => $loan['member_id'], 'fine' => $fine];
    }

    private static function t(string $s): string
    {
        return function_exists('__') ? __($s) : $s;
    }
}
