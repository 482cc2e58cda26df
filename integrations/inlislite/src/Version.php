<?php
// SPDX-License-Identifier: GPL-3.0-or-later
// Everything that differs between INLISLite 3.x (3.0 to 3.2, Yii2) and 3.3
// (CodeIgniter 4) for the bridge, in one place: the loan id, the due date
// and late days, which rows count as active, the rows 3.3 switches off
// with `active`, the columns only 3.3 has, and where 3.3's self-loan is
// laxer. The rest of the bridge asks this class and never the version.
// Facts: ../shared/reference/inlislite.md, sections 1, 3 and 4.

namespace Lokerbuku\Inlislite;

final class Version
{
    private function __construct(private bool $v33)
    {
    }

    /** '3.0', '3.1', '3.2' (one schema, Yii2) or '3.3'. */
    public static function of(string $version): self
    {
        return match ($version) {
            '3.0', '3.1', '3.2' => new self(false),
            '3.3' => new self(true),
            default => throw new \InvalidArgumentException("version: '$version' is not 3.0, 3.1, 3.2 or 3.3"),
        };
    }

    public function name(): string
    {
        return $this->v33 ? '3.3' : '3.x';
    }

    /**
     * The id of a new collectionloans row made on $date (Y-m-d): the date
     * as yymmdd and a five-digit counter of the day, after $prefix in 3.x
     * (its self-loan puts the site's code there when set). 3.3's column is
     * a bigint: the same digits as a number, no prefix. Locks the day's
     * last id until the transaction ends, so two loans never take the same.
     */
    public function newLoanId(\PDO $db, string $date, string $prefix): string
    {
        $day = (new \DateTimeImmutable($date))->format('ymd');
        $head = $this->v33 ? $day : $prefix . $day;
        if ($this->v33) {
            $st = $db->prepare('SELECT MAX(ID) FROM collectionloans WHERE ID BETWEEN ? AND ? FOR UPDATE');
            $st->execute([$head . '00000', $head . '99999']);
        } else {
            $st = $db->prepare("SELECT MAX(ID) FROM collectionloans WHERE ID LIKE ? FOR UPDATE");
            $st->execute([strtr($head, ['%' => '\\%', '_' => '\\_', '\\' => '\\\\']) . '_____']);
        }
        $last = $st->fetchColumn();
        $n = ($last === null || $last === false) ? 1 : (int) substr((string) $last, -5) + 1;
        if ($n > 99999) {
            throw new \RuntimeException("collectionloans: no id left for $date (99999 loans that day)");
        }
        return $head . sprintf('%05d', $n);
    }

    /**
     * The due date (DueDate) of a loan made at $loanAt (Y-m-d H:i:s) for
     * $days days. 3.x (SirkulasiHelpers::getTanggalKembali): the days
     * counted from the loan day, each Saturday/Sunday the settings call a
     * holiday added, then the rows of `holidays` from the loan day to that
     * end added, then moved off a weekend; a date (midnight). No loan days
     * at all: the loan day. 3.3: the loan time plus the days, calendar days.
     */
    public function dueDate(Calendar $cal, string $loanAt, int $days): string
    {
        $at = new \DateTimeImmutable($loanAt);
        if ($this->v33) {
            return $at->modify('+' . max(0, $days) . ' day')->format('Y-m-d H:i:s');
        }
        $day = $at->setTime(0, 0);
        if ($days <= 0) {
            return $day->format('Y-m-d H:i:s');
        }
        $weekend = 0;
        $end = $day;
        for ($counted = 0; $counted < $days;) {
            $end = $end->modify('+1 day');
            if ($cal->isWeekendHoliday($end)) {
                $weekend++;
            } else {
                $counted++;
            }
        }
        $total = $days + $weekend + $cal->holidaysBetween($day, $end);
        $due = $day->modify("+$total day");
        if ($cal->isSaturday($due) && $cal->saturdayOff() && $cal->sundayOff()) {
            $due = $due->modify('+2 day');
        } elseif ($cal->isWeekendHoliday($due)) {
            $due = $due->modify('+1 day');
        }
        return $due->format('Y-m-d H:i:s');
    }

    /**
     * Days late of an item due at $due returned at $returned (both
     * Y-m-d H:i:s), never below 0. 3.x (lateDays): calendar days from the
     * due day, less the Saturdays/Sundays the settings call holidays and
     * the rows of `holidays` in that time. 3.3: calendar days
     * (DateTime::diff), nothing taken off.
     */
    public function lateDays(Calendar $cal, string $due, string $returned): int
    {
        $d = (new \DateTimeImmutable($due))->setTime(0, 0);
        $r = (new \DateTimeImmutable($returned))->setTime(0, 0);
        if ($r <= $d) {
            return 0;
        }
        $days = (int) $d->diff($r)->days;
        if ($this->v33) {
            return $days;
        }
        $off = 0;
        for ($i = 1; $i <= $days; $i++) {
            $off += $cal->isWeekendHoliday($d->modify("+$i day")) ? 1 : 0;
        }
        return max(0, $days - $off - $cal->holidaysBetween($d, $r));
    }

    /** The condition on collectionloanitems of a loan not yet returned. */
    public function openLoan(string $alias = 'cli'): string
    {
        return "$alias.LoanStatus = 'Loan'" . ($this->v33 ? " AND $alias.ActualReturn IS NULL" : '');
    }

    /** The condition on a rule or holiday row that is switched on (3.3's `active`). */
    public function activeRow(string $alias): string
    {
        return $this->v33 ? " AND ($alias.active = 1)" : '';
    }

    /**
     * Loan limit and days when no rule names one: 3.x lends nothing (a
     * limit of 0, the loan day as due date); 3.3 falls back to 1000 items
     * and 3 days (getLoanConfiguration).
     */
    public function ruleFallback(string $field): int
    {
        if (!$this->v33) {
            return 0;
        }
        return $field === 'MaxPinjamKoleksi' ? 1000 : 3;
    }

    /**
     * Whether a member needs a row in memberloanauthorizelocation (and
     * memberloanauthorizecategory) to borrow: always in 3.x; in 3.3 only
     * when the member has any such rows at all.
     */
    public function authorisationRequired(bool $memberHasRows): bool
    {
        return $this->v33 ? $memberHasRows : true;
    }

    /** Whether the staff user must be allowed to lend at the site (3.x userloclibforloan). */
    public function staffSiteChecked(): bool
    {
        return !$this->v33;
    }

    /**
     * The active staff user $id as ['id' => int, 'name' => string], or
     * null: 3.x `users` (ID, Fullname, IsActive); 3.3 myth/auth `users`
     * (id, username or e-mail, active, deleted_at).
     */
    public function staffUser(\PDO $db, int $id): ?array
    {
        $st = $db->prepare($this->v33
            ? 'SELECT id, COALESCE(username, email) AS name FROM users WHERE id = ? AND active = 1 AND deleted_at IS NULL'
            : "SELECT ID AS id, COALESCE(NULLIF(Fullname, ''), username) AS name FROM users"
                . ' WHERE ID = ? AND (IsActive = 1 OR IsActive IS NULL)');
        $st->execute([$id]);
        $u = $st->fetch(\PDO::FETCH_ASSOC);
        return $u ? ['id' => (int) $u['id'], 'name' => (string) $u['name']] : null;
    }

    /** Whether collectionloanitems has Branch_id (3.3). */
    public function loanItemBranch(): bool
    {
        return $this->v33;
    }

    /** The columns 3.x's self-loan also sets on the item lent (IsVerified), column => value. */
    public function lentItemExtra(): array
    {
        return $this->v33 ? [] : ['IsVerified' => 0];
    }

    /** Whether INLISLite keeps its audit trail in `modelhistory` (3.x's Yii models; 3.3 does not). */
    public function writesModelHistory(): bool
    {
        return !$this->v33;
    }
}
