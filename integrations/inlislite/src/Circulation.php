<?php
// SPDX-License-Identifier: GPL-3.0-or-later
// Loans and returns in INLISLite's own tables, after the checks its
// self-loan makes and written as it writes them (facts:
// ../shared/reference/inlislite.md, sections 3 and 4):
//
// - member: known, no suspension running from `pelanggaran`, status 3
//   (Aktif), EndDate not past, allowed to borrow at this site
//   (memberloanauthorizelocation), the staff user allowed to lend there
//   (3.x userloclibforloan), no overdue loan when PeminjamanLewatJatuhTempo
//   is '1';
// - item: known, its category allowed for the member
//   (memberloanauthorizecategory), Status_id 1, Rule_id 1, not on loan,
//   its category lent today when a day rule lists categories
//   (collectioncategorysloanhari), the loan limit not reached;
// - limit and days from the first rule that names them: today's
//   peraturan_peminjaman_hari, a peraturan_peminjaman_tanggal covering
//   today, the item's worksheet, the member type (jenis_anggota);
// - the loan: one collectionloans row for the pickup, one
//   collectionloanitems row ('Loan') per item, the item's Status_id 5 and
//   its booking cleared (columns and bookinglogs), all inside the caller's
//   transaction;
// - the return: LoanStatus 'Return', ActualReturn, LateDays; the item
//   Status_id 1; ReturnCount + 1 on the loan;
// - 3.x's audit trail of each of those rows in `modelhistory` (ModelHistory).
//
// A refusal is a reason code per item; nothing is written for it.

namespace Lokerbuku\Inlislite;

final class Circulation
{
    public const MEMBER_UNKNOWN = 'member_unknown';
    public const MEMBER_PENDING = 'member_pending';
    public const MEMBER_BLOCKED = 'member_blocked';
    public const MEMBER_EXPIRED = 'member_expired';
    public const MEMBER_SUSPENDED = 'member_suspended';
    public const MEMBER_NOT_AT_SITE = 'member_not_allowed_at_site';
    public const MEMBER_OVERDUE = 'member_has_overdue_loans';
    public const STAFF_NOT_AT_SITE = 'staff_not_allowed_at_site';
    public const ITEM_UNKNOWN = 'item_unknown';
    public const ITEM_CATEGORY = 'item_category_not_allowed';
    public const ITEM_NOT_AVAILABLE = 'item_not_available';
    public const ITEM_LENT = 'item_already_lent';
    public const ITEM_NO_LOAN = 'item_no_loan';
    public const ITEM_CLOSED_TODAY = 'item_category_not_lent_today';
    public const LOAN_LIMIT = 'loan_limit_reached';

    private Settings $settings;
    private Calendar $calendar;
    private ModelHistory $history;
    private \Closure $now;

    /**
     * $site: ['location_library_id' => int, 'branch_id' => ?int,
     * 'loan_id_prefix' => string]; $now returns the library's local time
     * 'Y-m-d H:i:s' (tests pass their own).
     */
    public function __construct(private \PDO $db, private Version $version, private array $site,
        ?\Closure $now = null)
    {
        $this->settings = new Settings($db);
        $this->calendar = new Calendar($db, $version, $this->settings);
        $this->now = $now ?? static fn(): string => date('Y-m-d H:i:s');
        $this->history = new ModelHistory($db, $version->writesModelHistory(), $this->now);
    }

    /** The library's local time now, 'Y-m-d H:i:s'. */
    public function now(): string
    {
        return ($this->now)();
    }

    public function version(): Version
    {
        return $this->version;
    }

    public function calendar(): Calendar
    {
        return $this->calendar;
    }

    /** The member row by MemberNo (not unique in INLISLite: the newest wins), or null. */
    public function member(string $memberNo): ?array
    {
        $st = $this->db->prepare('SELECT ID, MemberNo, Fullname, Phone, NoHp, Email, EndDate,'
            . ' StatusAnggota_id, JenisAnggota_id FROM members WHERE MemberNo = ? ORDER BY ID DESC LIMIT 1');
        $st->execute([trim($memberNo)]);
        return $st->fetch(\PDO::FETCH_ASSOC) ?: null;
    }

    /** The item (collections joined to its catalogue) by barcode, or null. */
    public function item(string $barcode, bool $lock = false): ?array
    {
        $st = $this->db->prepare('SELECT c.ID, c.NomorBarcode, c.Status_id, c.Rule_id, c.Category_id,'
            . ' c.Location_Library_id, cat.Title, cat.Worksheet_id FROM collections c'
            . ' LEFT JOIN catalogs cat ON cat.ID = c.Catalog_id WHERE c.NomorBarcode = ?'
            . ($lock ? ' FOR UPDATE' : ''));
        $st->execute([$barcode]);
        return $st->fetch(\PDO::FETCH_ASSOC) ?: null;
    }

    /** Why the member may not borrow on $date (Y-m-d), or null. */
    public function memberRefusal(?array $m, string $date, ?int $userId = null): ?string
    {
        if ($m === null) {
            return self::MEMBER_UNKNOWN;
        }
        if ($this->suspendedUntil((int) $m['ID'], $date)) {
            return self::MEMBER_SUSPENDED;
        }
        $status = (int) $m['StatusAnggota_id'];
        if ($status !== 3) {
            return in_array($status, [1, 2], true) ? self::MEMBER_PENDING : self::MEMBER_BLOCKED;
        }
        if ($m['EndDate'] === null || strcmp(substr($m['EndDate'], 0, 10), $date) < 0) {
            return self::MEMBER_EXPIRED;
        }
        $site = (int) $this->site['location_library_id'];
        $rows = $this->count('SELECT COUNT(*) FROM memberloanauthorizelocation WHERE Member_id = ?', [$m['ID']]);
        if ($this->version->authorisationRequired($rows > 0) && !$this->count(
            'SELECT COUNT(*) FROM memberloanauthorizelocation WHERE Member_id = ? AND LocationLoan_id = ?',
            [$m['ID'], $site])) {
            return self::MEMBER_NOT_AT_SITE;
        }
        if ($userId !== null && $this->version->staffSiteChecked() && !$this->count(
            'SELECT COUNT(*) FROM userloclibforloan WHERE User_id = ? AND LocLib_id = ?', [$userId, $site])) {
            return self::STAFF_NOT_AT_SITE;
        }
        if ($this->settings->get('PeminjamanLewatJatuhTempo') === '1' && $this->count(
            'SELECT COUNT(*) FROM collectionloanitems cli WHERE cli.member_id = ? AND '
            . $this->version->openLoan() . ' AND cli.DueDate < ?', [$m['ID'], $date . ' 00:00:00'])) {
            return self::MEMBER_OVERDUE;
        }
        return null;
    }

    /** Whether a suspension from `pelanggaran` (CreateDate + JumlahSuspend days) runs past $date. */
    private function suspendedUntil(int $memberId, string $date): bool
    {
        $st = $this->db->prepare('SELECT MAX(DATE(DATE_ADD(CreateDate, INTERVAL JumlahSuspend DAY)))'
            . ' FROM pelanggaran WHERE Member_id = ? AND JumlahSuspend > 0');
        $st->execute([$memberId]);
        $until = $st->fetchColumn();
        return is_string($until) && strcmp($until, $date) > 0;
    }

    /** The day rule of $date (DayIndex 1 = Monday ... 7 = Sunday), or null. */
    private function dayRule(string $date): ?array
    {
        $st = $this->db->prepare('SELECT * FROM peraturan_peminjaman_hari r WHERE r.DayIndex = ?'
            . $this->version->activeRow('r') . ' ORDER BY r.ID LIMIT 1');
        $st->execute([(int) (new \DateTimeImmutable($date))->format('N')]);
        return $st->fetch(\PDO::FETCH_ASSOC) ?: null;
    }

    /**
     * A loan figure ('MaxPinjamKoleksi' or 'MaxLoanDays') for an item and a
     * member on $date: the first of day rule, date rule, worksheet, member
     * type that names one (not 0), else the version's fallback.
     */
    public function rule(string $field, array $item, array $member, string $date): int
    {
        if (!in_array($field, ['MaxPinjamKoleksi', 'MaxLoanDays'], true)) {
            throw new \InvalidArgumentException("rule: $field");
        }
        $day = $this->dayRule($date);
        if ($day && (int) $day[$field]) {
            return (int) $day[$field];
        }
        $st = $this->db->prepare("SELECT r.$field FROM peraturan_peminjaman_tanggal r"
            . ' WHERE ? BETWEEN DATE(r.TanggalAwal) AND DATE(r.TanggalAkhir)' . $this->version->activeRow('r')
            . ' ORDER BY r.ID LIMIT 1');
        $st->execute([$date]);
        if ($v = (int) $st->fetchColumn()) {
            return $v;
        }
        $st = $this->db->prepare("SELECT r.$field FROM worksheets r WHERE r.ID = ?" . $this->version->activeRow('r'));
        $st->execute([(int) $item['Worksheet_id']]);
        if ($v = (int) $st->fetchColumn()) {
            return $v;
        }
        $st = $this->db->prepare("SELECT r.$field FROM jenis_anggota r WHERE r.id = ?" . $this->version->activeRow('r'));
        $st->execute([(int) $member['JenisAnggota_id']]);
        if ($v = (int) $st->fetchColumn()) {
            return $v;
        }
        return $this->version->ruleFallback($field);
    }

    /** Why this item may not be lent to this member on $date, or null. $cart: items lent in this pickup. */
    public function itemRefusal(?array $item, array $member, string $date, int $cart): ?string
    {
        if ($item === null) {
            return self::ITEM_UNKNOWN;
        }
        $rows = $this->count('SELECT COUNT(*) FROM memberloanauthorizecategory WHERE Member_id = ?', [$member['ID']]);
        if ($this->version->authorisationRequired($rows > 0) && !$this->count(
            'SELECT COUNT(*) FROM memberloanauthorizecategory WHERE Member_id = ? AND CategoryLoan_id = ?',
            [$member['ID'], (int) $item['Category_id']])) {
            return self::ITEM_CATEGORY;
        }
        $lent = $this->count('SELECT COUNT(*) FROM collectionloanitems cli WHERE cli.Collection_id = ? AND '
            . $this->version->openLoan(), [$item['ID']]);
        if ($lent || (int) $item['Status_id'] === 5) {
            return self::ITEM_LENT;
        }
        if ((int) $item['Status_id'] !== 1) {
            return self::ITEM_NOT_AVAILABLE;
        }
        if ((int) $item['Rule_id'] !== 1) {
            return self::ITEM_NO_LOAN;
        }
        $day = $this->dayRule($date);
        if ($day) {
            $cats = $this->db->prepare('SELECT Category_id FROM collectioncategorysloanhari WHERE Peminjaman_hari_id = ?');
            $cats->execute([$day['ID']]);
            $allowed = array_map('intval', $cats->fetchAll(\PDO::FETCH_COLUMN));
            if ($allowed && !in_array((int) $item['Category_id'], $allowed, true)) {
                return self::ITEM_CLOSED_TODAY;
            }
        }
        $limit = $this->rule('MaxPinjamKoleksi', $item, $member, $date);
        $open = $this->count('SELECT COUNT(*) FROM collectionloanitems cli WHERE cli.member_id = ? AND '
            . $this->version->openLoan(), [$member['ID']]);
        if ($open + $cart >= $limit) {
            return self::LOAN_LIMIT;
        }
        return null;
    }

    /**
     * The time a loan or return made on $date (Y-m-d) is written with:
     * now when $date is today; the start of the day for an event a kiosk
     * kept offline and sends later.
     */
    public function timeOf(string $date): string
    {
        $now = ($this->now)();
        return str_starts_with($now, $date) ? $now : $date . ' 00:00:00';
    }

    /**
     * Lends items to a member as of $date, by $userId (INLISLite users.ID,
     * CreateBy) at $terminal, inside the caller's transaction. Returns
     * [barcode => ['loan_id' => ..., 'due' => 'Y-m-d H:i:s'] or ['refused' => code]].
     */
    public function checkOut(string $memberNo, array $barcodes, string $date, int $userId, string $terminal): array
    {
        $member = $this->member($memberNo);
        $why = $this->memberRefusal($member, $date, $userId);
        if ($why !== null) {
            return array_fill_keys($barcodes, ['refused' => $why]);
        }
        $out = $lend = [];
        foreach ($barcodes as $code) {
            $item = $this->item($code, true);
            $why = $this->itemRefusal($item, $member, $date, count($lend));
            if ($why !== null) {
                $out[$code] = ['refused' => $why];
                continue;
            }
            $lend[$code] = $item;
        }
        if (!$lend) {
            return $out;
        }
        $at = $this->timeOf($date);
        $now = ($this->now)();
        $loanId = $this->version->newLoanId($this->db, $date, (string) ($this->site['loan_id_prefix'] ?? ''));
        $branch = $this->site['branch_id'] ?? null;
        $this->db->prepare('INSERT INTO collectionloans (ID, CollectionCount, LateCount, ExtendCount, LoanCount,'
            . ' ReturnCount, Member_id, Branch_id, LocationLibrary_id, CreateBy, CreateDate, CreateTerminal,'
            . ' UpdateBy, UpdateDate, UpdateTerminal) VALUES (?, ?, 0, 0, ?, 0, ?, ?, ?, ?, ?, ?, ?, ?, ?)')
            ->execute([$loanId, count($lend), count($lend), $member['ID'], $branch,
                (int) $this->site['location_library_id'], $userId, $now, $terminal, $userId, $now, $terminal]);
        $this->history->inserted('collectionloans', $loanId, $userId);
        $itemSql = 'INSERT INTO collectionloanitems (CollectionLoan_id, LoanDate, DueDate, LoanStatus,'
            . ' Collection_id, member_id, CreateBy, CreateDate, CreateTerminal, UpdateBy, UpdateDate, UpdateTerminal'
            . ($this->version->loanItemBranch() ? ', Branch_id' : '') . ") VALUES (?, ?, ?, 'Loan', ?, ?, ?, ?, ?, ?, ?, ?"
            . ($this->version->loanItemBranch() ? ', ?' : '') . ')';
        $insert = $this->db->prepare($itemSql);
        $booking = $this->db->prepare('UPDATE bookinglogs SET bookingExpired = NULL WHERE collectionId = ?');
        foreach ($lend as $code => $item) {
            $days = $this->rule('MaxLoanDays', $item, $member, $date);
            $due = $this->version->dueDate($this->calendar, $at, $days);
            $args = [$loanId, $at, $due, $item['ID'], $member['ID'], $userId, $now, $terminal, $userId, $now, $terminal];
            if ($this->version->loanItemBranch()) {
                $args[] = $branch;
            }
            $insert->execute($args);
            $this->history->inserted('collectionloanitems', (string) $this->db->lastInsertId(), $userId);
            $this->history->update('collections', (string) $item['ID'], ['Status_id' => 5, 'BookingMemberID' => null,
                'BookingExpiredDate' => null, 'UpdateBy' => $userId, 'UpdateDate' => $now, 'UpdateTerminal' => $terminal]
                + $this->version->lentItemExtra(), $userId);
            $booking->execute([$item['ID']]);
            $out[$code] = ['loan_id' => $loanId, 'due' => $due];
        }
        return $out;
    }

    /**
     * Returns an item as of $date by $userId at $terminal, inside the
     * caller's transaction: ['loan_id', 'member_no', 'due', 'late_days'],
     * or null when it is not on loan.
     */
    public function checkIn(string $barcode, string $date, int $userId, string $terminal): ?array
    {
        $st = $this->db->prepare('SELECT cli.ID, cli.CollectionLoan_id, cli.DueDate, cli.Collection_id, cl.ReturnCount,'
            . ' m.MemberNo FROM collectionloanitems cli JOIN collections c ON c.ID = cli.Collection_id'
            . ' JOIN collectionloans cl ON cl.ID = cli.CollectionLoan_id'
            . ' LEFT JOIN members m ON m.ID = cli.member_id WHERE c.NomorBarcode = ? AND '
            . $this->version->openLoan() . ' ORDER BY cli.ID DESC LIMIT 1 FOR UPDATE');
        $st->execute([$barcode]);
        $loan = $st->fetch(\PDO::FETCH_ASSOC);
        if (!$loan) {
            return null;
        }
        $at = $this->timeOf($date);
        $now = ($this->now)();
        $late = $this->version->lateDays($this->calendar, (string) $loan['DueDate'], $at);
        $by = ['UpdateBy' => $userId, 'UpdateDate' => $now, 'UpdateTerminal' => $terminal];
        $this->history->update('collectionloanitems', (string) $loan['ID'],
            ['LoanStatus' => 'Return', 'ActualReturn' => $at, 'LateDays' => $late] + $by, $userId);
        $this->history->update('collections', (string) $loan['Collection_id'], ['Status_id' => 1] + $by, $userId);
        $this->history->update('collectionloans', (string) $loan['CollectionLoan_id'],
            ['ReturnCount' => (int) $loan['ReturnCount'] + 1] + $by, $userId);
        return ['loan_id' => (string) $loan['CollectionLoan_id'], 'member_no' => $loan['MemberNo'],
            'due' => (string) $loan['DueDate'], 'late_days' => $late];
    }

    private function count(string $sql, array $args): int
    {
        $st = $this->db->prepare($sql);
        $st->execute($args);
        return (int) $st->fetchColumn();
    }
}
