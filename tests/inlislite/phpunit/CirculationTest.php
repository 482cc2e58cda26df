<?php
// SPDX-License-Identifier: GPL-2.0-or-later
// The bridge's loans and returns in INLISLite's real tables, 3.2 and 3.3:
// the rows a pickup and a return write, and each check of INLISLite's
// self-loan that refuses one. "Today" is Thursday 2026-12-03, 10:15.

use Lokerbuku\Inlislite\Circulation;

final class CirculationTest extends InlisliteTestCase
{
    /** @dataProvider versions */
    public function testPickupWritesTheLoanAsSelfLoanDoes(string $v): void
    {
        $this->useVersion($v);
        $user = $this->user();
        $m = $this->member('M-100');
        $i1 = $this->item('B-100', ['BookingMemberID' => 'M-100', 'BookingExpiredDate' => '2026-12-03 13:00:00']);
        $i2 = $this->item('B-101');
        $this->sql("INSERT INTO bookinglogs (memberId, collectionId, bookingDate, bookingExpired)"
            . " VALUES ('M-100', ?, '2026-12-03 10:00:00', '2026-12-03 13:00:00')", [$i1]);

        $out = $this->circulation()->checkOut('M-100', ['B-100', 'B-101'], '2026-12-03', $user, 'book locker k1');

        // One header for the pickup: yymmdd and the day's counter.
        $this->assertSame(['loan_id' => '26120300001', 'due' => $v === '3.3' ? '2026-12-10 10:15:00' : '2026-12-14 00:00:00'],
            $out['B-100']);
        $h = $this->sql('SELECT * FROM collectionloans')->fetchAll(PDO::FETCH_ASSOC);
        $this->assertCount(1, $h);
        $this->assertSame('26120300001', (string) $h[0]['ID']);
        $this->assertEquals([2, 2, 0, 0, 0, $m, 1, $user, '2026-12-03 10:15:00', 'book locker k1'],
            [$h[0]['CollectionCount'], $h[0]['LoanCount'], $h[0]['LateCount'], $h[0]['ExtendCount'],
                $h[0]['ReturnCount'], $h[0]['Member_id'], $h[0]['LocationLibrary_id'], $h[0]['CreateBy'],
                $h[0]['CreateDate'], $h[0]['CreateTerminal']]);
        $rows = $this->sql('SELECT CollectionLoan_id, LoanDate, DueDate, ActualReturn, LateDays, LoanStatus,'
            . ' Collection_id, member_id, CreateBy, CreateDate FROM collectionloanitems ORDER BY Collection_id')
            ->fetchAll(PDO::FETCH_NUM);
        $due = $v === '3.3' ? '2026-12-10 10:15:00' : '2026-12-14 00:00:00';
        $this->assertEquals([
            ['26120300001', '2026-12-03 10:15:00', $due, null, null, 'Loan', $i1, $m, $user, '2026-12-03 10:15:00'],
            ['26120300001', '2026-12-03 10:15:00', $due, null, null, 'Loan', $i2, $m, $user, '2026-12-03 10:15:00'],
        ], $rows);
        // The items lent, their booking gone, the booking log closed.
        $this->assertEquals([[5, null, null], [5, null, null]],
            $this->sql('SELECT Status_id, BookingMemberID, BookingExpiredDate FROM collections ORDER BY ID')
                ->fetchAll(PDO::FETCH_NUM));
        $this->assertNull($this->one('SELECT bookingExpired FROM bookinglogs WHERE collectionId = ?', [$i1]));

        // A second pickup that day takes the next number.
        $this->member('M-101');
        $this->item('B-102');
        $out = $this->circulation()->checkOut('M-101', ['B-102'], '2026-12-03', $user, 'book locker k1');
        $this->assertSame('26120300002', $out['B-102']['loan_id']);
    }

    /** @dataProvider versions */
    public function testMemberChecksRefuseEveryItem(string $v): void
    {
        $this->useVersion($v);
        $user = $this->user();
        $this->item('B-1');
        $c = $this->circulation();
        $cases = [
            'M-EXP' => [['EndDate' => '2026-12-02 00:00:00'], Circulation::MEMBER_EXPIRED],
            'M-NEW' => [['StatusAnggota_id' => 1], Circulation::MEMBER_PENDING],
            'M-SUS' => [['StatusAnggota_id' => 5], Circulation::MEMBER_BLOCKED],
            'M-OFF' => [['StatusAnggota_id' => 4], Circulation::MEMBER_BLOCKED],
        ];
        foreach ($cases as $no => [$set, $why]) {
            $this->member($no, $set);
            $this->assertSame(['B-1' => ['refused' => $why]], $c->checkOut($no, ['B-1'], '2026-12-03', $user, 't'), $no);
        }
        $this->assertSame(['B-1' => ['refused' => Circulation::MEMBER_UNKNOWN]],
            $c->checkOut('M-NONE', ['B-1'], '2026-12-03', $user, 't'));

        // A suspension written by staff at a return runs until CreateDate + JumlahSuspend days.
        $id = $this->member('M-PEL');
        $this->sql("INSERT INTO pelanggaran (JenisPelanggaran_id, JenisDenda_id, JumlahSuspend, Member_id, CreateDate)"
            . " VALUES (1, 5, 3, ?, '2026-12-01 09:00:00')", [$id]);
        $this->assertSame(['B-1' => ['refused' => Circulation::MEMBER_SUSPENDED]],
            $c->checkOut('M-PEL', ['B-1'], '2026-12-03', $user, 't'));
        $this->now = '2026-12-04 08:00:00';
        $this->assertArrayHasKey('loan_id', $c->checkOut('M-PEL', ['B-1'], '2026-12-04', $user, 't')['B-1']);
        $this->assertSame(0, (int) $this->one('SELECT COUNT(*) FROM collectionloanitems WHERE member_id <> ?', [$id]));
    }

    /** @dataProvider versions */
    public function testSiteAuthorisation(string $v): void
    {
        $this->useVersion($v);
        $user = $this->user();
        $this->item('B-1');
        $c = $this->circulation(['location_library_id' => 5]);
        // Allowed at site 1 only, the kiosk stands at site 5.
        $this->member('M-1');
        $this->assertSame(['B-1' => ['refused' => Circulation::MEMBER_NOT_AT_SITE]],
            $c->checkOut('M-1', ['B-1'], '2026-12-03', $user, 't'));
        // No rows at all: 3.x refuses, 3.3 lets the member borrow anywhere.
        $id = $this->member('M-2');
        $this->sql('DELETE FROM memberloanauthorizelocation WHERE Member_id = ?', [$id]);
        $this->sql('INSERT INTO userloclibforloan (User_id, LocLib_id) VALUES (?, 5)', [$user]);
        $r = $c->checkOut('M-2', ['B-1'], '2026-12-03', $user, 't')['B-1'];
        $this->assertSame($v === '3.3' ? '26120300001' : null, $r['loan_id'] ?? null, json_encode($r));

        // 3.x: the staff user the loans are made by must be allowed to lend there.
        $other = $this->user('lain');
        $this->sql('DELETE FROM userloclibforloan WHERE User_id = ?', [$other]);
        $this->member('M-3');
        $this->item('B-3');
        $r = $this->circulation()->checkOut('M-3', ['B-3'], '2026-12-03', $other, 't')['B-3'];
        $this->assertSame($v === '3.3' ? null : Circulation::STAFF_NOT_AT_SITE, $r['refused'] ?? null);
    }

    /** @dataProvider versions */
    public function testItemChecksRefuseOneItemAndLendTheRest(string $v): void
    {
        $this->useVersion($v);
        $user = $this->user();
        $id = $this->member('M-1', ['JenisAnggota_id' => 14]); // Istimewa: 10 items
        $this->item('B-OK');
        $this->item('B-RUSAK', ['Status_id' => 3]);
        $this->item('B-BACA', ['Rule_id' => 2]);
        $this->item('B-LENT', ['Status_id' => 5]);
        $this->item('B-CAT', ['Category_id' => 1]);
        $this->sql('DELETE FROM memberloanauthorizecategory WHERE Member_id = ? AND CategoryLoan_id = 1', [$id]);
        $out = $this->circulation()->checkOut('M-1', ['B-RUSAK', 'B-BACA', 'B-LENT', 'B-CAT', 'B-NONE', 'B-OK'],
            '2026-12-03', $user, 't');
        $this->assertSame([
            'B-RUSAK' => ['refused' => Circulation::ITEM_NOT_AVAILABLE],
            'B-BACA' => ['refused' => Circulation::ITEM_NO_LOAN],
            'B-LENT' => ['refused' => Circulation::ITEM_LENT],
            'B-CAT' => ['refused' => Circulation::ITEM_CATEGORY],
            'B-NONE' => ['refused' => Circulation::ITEM_UNKNOWN],
        ], array_diff_key($out, ['B-OK' => 1]));
        $this->assertArrayHasKey('loan_id', $out['B-OK']);
        $this->assertSame(1, (int) $this->one('SELECT CollectionCount FROM collectionloans'));
        $this->assertSame(1, (int) $this->one('SELECT COUNT(*) FROM collectionloanitems'));
        // Refused items are untouched.
        $this->assertEquals([3, 1, 5, 1], $this->sql("SELECT Status_id FROM collections WHERE NomorBarcode IN"
            . " ('B-RUSAK', 'B-BACA', 'B-LENT', 'B-CAT') ORDER BY ID")->fetchAll(PDO::FETCH_COLUMN));
        // The item now on loan cannot be lent again.
        $this->member('M-2');
        $this->assertSame(['B-OK' => ['refused' => Circulation::ITEM_LENT]],
            $this->circulation()->checkOut('M-2', ['B-OK'], '2026-12-03', $user, 't'));
    }

    /** @dataProvider versions */
    public function testLoanLimitCountsOpenLoansAndThisPickup(string $v): void
    {
        $this->useVersion($v);
        $user = $this->user();
        $this->member('M-1'); // Umum: 2 items
        foreach (['B-1', 'B-2', 'B-3'] as $b) {
            $this->item($b);
        }
        $out = $this->circulation()->checkOut('M-1', ['B-1', 'B-2', 'B-3'], '2026-12-03', $user, 't');
        $this->assertArrayHasKey('loan_id', $out['B-1']);
        $this->assertArrayHasKey('loan_id', $out['B-2']);
        $this->assertSame(['refused' => Circulation::LOAN_LIMIT], $out['B-3']);
        // A return frees a place.
        $this->circulation()->checkIn('B-1', '2026-12-03', $user, 't');
        $this->assertArrayHasKey('loan_id', $this->circulation()->checkOut('M-1', ['B-3'], '2026-12-03', $user, 't')['B-3']);
    }

    /** @dataProvider versions */
    public function testRuleHierarchyDayThenDateThenWorksheetThenMemberType(string $v): void
    {
        $this->useVersion($v);
        $c = $this->circulation();
        $this->member('M-1');
        $this->item('B-1', [], 3); // worksheet 3, Film
        $m = $c->member('M-1');
        $i = $c->item('B-1');
        $this->assertSame(7, $c->rule('MaxLoanDays', $i, $m, '2026-12-03'), 'member type Umum');
        $this->sql('UPDATE worksheets SET MaxLoanDays = 5 WHERE ID = 3');
        $this->assertSame(5, $c->rule('MaxLoanDays', $i, $m, '2026-12-03'), 'worksheet');
        $this->sql("INSERT INTO peraturan_peminjaman_tanggal (TanggalAwal, TanggalAkhir, MaxLoanDays, MaxPinjamKoleksi)"
            . " VALUES ('2026-12-01', '2026-12-31', 4, 0)");
        $this->assertSame(4, $c->rule('MaxLoanDays', $i, $m, '2026-12-03'), 'date rule');
        $this->assertSame(2, $c->rule('MaxPinjamKoleksi', $i, $m, '2026-12-03'), 'date rule names no limit');
        $this->sql('INSERT INTO peraturan_peminjaman_hari (DayIndex, MaxLoanDays, MaxPinjamKoleksi) VALUES (4, 3, 1)');
        $this->assertSame(3, $c->rule('MaxLoanDays', $i, $m, '2026-12-03'), 'Thursday rule');
        $this->assertSame(4, $c->rule('MaxLoanDays', $i, $m, '2026-12-04'), 'not on Friday');
        if ($v === '3.3') {
            // 3.3 reads only rules switched on.
            $this->sql('UPDATE peraturan_peminjaman_hari SET active = 0');
            $this->assertSame(4, $c->rule('MaxLoanDays', $i, $m, '2026-12-03'), 'day rule off');
        }
    }

    /** @dataProvider versions */
    public function testDayRuleListsTheCategoriesLentThatDay(string $v): void
    {
        $this->useVersion($v);
        $user = $this->user();
        $this->member('M-1');
        $this->item('B-UMUM');
        $this->item('B-REF', ['Category_id' => 8]);
        $this->sql('INSERT INTO peraturan_peminjaman_hari (DayIndex, MaxLoanDays, MaxPinjamKoleksi) VALUES (4, 3, 5)');
        $this->sql('INSERT INTO collectioncategorysloanhari (Category_id, Peminjaman_hari_id) VALUES (7, ?)',
            [$this->db->lastInsertId()]);
        $out = $this->circulation()->checkOut('M-1', ['B-UMUM', 'B-REF'], '2026-12-03', $user, 't');
        $this->assertSame(['refused' => Circulation::ITEM_CLOSED_TODAY], $out['B-REF']);
        $this->assertSame($v === '3.3' ? '2026-12-06 10:15:00' : '2026-12-08 00:00:00', $out['B-UMUM']['due']);
    }

    /** @dataProvider versions */
    public function testOverdueLoansRefuseWhenTheLibrarySaysSo(string $v): void
    {
        $this->useVersion($v);
        $user = $this->user();
        $this->member('M-1');
        $this->item('B-1');
        $this->item('B-2');
        $this->now = '2026-11-20 09:00:00';
        $this->circulation()->checkOut('M-1', ['B-1'], '2026-11-20', $user, 't');
        $this->now = '2026-12-03 10:15:00';
        $this->sql("INSERT INTO settingparameters (Name, Value) VALUES ('PeminjamanLewatJatuhTempo', '1')");
        $this->assertSame(['B-2' => ['refused' => Circulation::MEMBER_OVERDUE]],
            $this->circulation()->checkOut('M-1', ['B-2'], '2026-12-03', $user, 't'));
        $this->sql("UPDATE settingparameters SET Value = '0' WHERE Name = 'PeminjamanLewatJatuhTempo'");
        $this->assertArrayHasKey('loan_id', $this->circulation()->checkOut('M-1', ['B-2'], '2026-12-03', $user, 't')['B-2']);
    }

    /** @dataProvider versions */
    public function testReturnWritesLateDaysAndTheCounts(string $v): void
    {
        $this->useVersion($v);
        $user = $this->user();
        $m = $this->member('M-1');
        $i = $this->item('B-1');
        $this->item('B-2');
        $this->circulation()->checkOut('M-1', ['B-1', 'B-2'], '2026-12-03', $user, 'book locker k1');
        // Due Monday 14th (3.x) or Thursday 10th (3.3); back Monday 21st,
        // a holiday on Wednesday 16th.
        $this->sql("INSERT INTO holidays (Dates, Names) VALUES ('2026-12-16', 'Libur')");
        $this->now = '2026-12-21 16:30:00';
        $r = $this->circulation()->checkIn('B-1', '2026-12-21', $user, 'book locker k1');
        $late = $v === '3.3' ? 11 : 4; // 3.x: 7 days less Sat, Sun and the holiday
        $this->assertSame($late, $r['late_days']);
        $this->assertEquals(['Return', '2026-12-21 16:30:00', $late, $user, '2026-12-21 16:30:00'],
            $this->sql('SELECT LoanStatus, ActualReturn, LateDays, UpdateBy, UpdateDate FROM collectionloanitems'
                . ' WHERE Collection_id = ?', [$i])->fetch(PDO::FETCH_NUM));
        $this->assertSame(1, (int) $this->one('SELECT Status_id FROM collections WHERE ID = ?', [$i]));
        $this->assertEquals([1, 2], $this->sql('SELECT ReturnCount, CollectionCount FROM collectionloans')
            ->fetch(PDO::FETCH_NUM));
        $this->assertSame(1, (int) $this->one("SELECT COUNT(*) FROM collectionloanitems WHERE LoanStatus = 'Loan'"
            . ' AND member_id = ?', [$m]));
        // Not on loan any more.
        $this->assertNull($this->circulation()->checkIn('B-1', '2026-12-21', $user, 't'));
    }

    /**
     * 3.x's Yii models keep an audit trail in `modelhistory`: a row per
     * insert naming the primary key, a row per column an update changed
     * with the old and new value, by the staff user at local time. 3.3
     * keeps none.
     * @dataProvider versions
     */
    public function testLoanAndReturnWriteInlislitesAuditTrail(string $v): void
    {
        $this->useVersion($v);
        $user = $this->user();
        $this->member('M-7');
        $i = $this->item('B-7', ['BookingMemberID' => 'M-7', 'BookingExpiredDate' => '2026-12-03 13:00:00']);
        $before = (int) $this->one('SELECT COALESCE(MAX(id), 0) FROM modelhistory');
        $this->circulation()->checkOut('M-7', ['B-7'], '2026-12-03', $user, 'book locker k1');
        $li = (string) $this->one('SELECT ID FROM collectionloanitems WHERE Collection_id = ?', [$i]);
        $this->now = '2026-12-04 09:00:00';
        $this->circulation()->checkIn('B-7', '2026-12-04', $user, 'book locker k2');
        $rows = $this->sql('SELECT date, `table`, field_name, field_id, old_value, new_value, type, user_id'
            . ' FROM modelhistory WHERE id > ? ORDER BY id', [$before])->fetchAll(PDO::FETCH_NUM);
        if ($v === '3.3') {
            $this->assertSame([], $rows);
            return;
        }
        $u = (string) $user;
        $t1 = '2026-12-03 10:15:00';
        $t2 = '2026-12-04 09:00:00';
        $this->assertEquals([
            [$t1, 'collectionloans', 'ID', '26120300001', null, null, 0, $u],
            [$t1, 'collectionloanitems', 'ID', $li, null, null, 0, $u],
            [$t1, 'collections', 'Status_id', (string) $i, '1', '5', 1, $u],
            [$t1, 'collections', 'BookingMemberID', (string) $i, 'M-7', null, 1, $u],
            [$t1, 'collections', 'BookingExpiredDate', (string) $i, '2026-12-03 13:00:00', null, 1, $u],
            [$t1, 'collections', 'UpdateBy', (string) $i, null, $u, 1, $u],
            [$t1, 'collections', 'UpdateDate', (string) $i, null, $t1, 1, $u],
            [$t1, 'collections', 'UpdateTerminal', (string) $i, null, 'book locker k1', 1, $u],
            // The return: the loan line, the copy and the header.
            [$t2, 'collectionloanitems', 'LoanStatus', $li, 'Loan', 'Return', 1, $u],
            [$t2, 'collectionloanitems', 'ActualReturn', $li, null, $t2, 1, $u],
            [$t2, 'collectionloanitems', 'LateDays', $li, null, '0', 1, $u],
            [$t2, 'collectionloanitems', 'UpdateDate', $li, $t1, $t2, 1, $u],
            [$t2, 'collectionloanitems', 'UpdateTerminal', $li, 'book locker k1', 'book locker k2', 1, $u],
            [$t2, 'collections', 'Status_id', (string) $i, '5', '1', 1, $u],
            [$t2, 'collections', 'UpdateDate', (string) $i, $t1, $t2, 1, $u],
            [$t2, 'collections', 'UpdateTerminal', (string) $i, 'book locker k1', 'book locker k2', 1, $u],
            [$t2, 'collectionloans', 'ReturnCount', '26120300001', '0', '1', 1, $u],
            [$t2, 'collectionloans', 'UpdateDate', '26120300001', $t1, $t2, 1, $u],
            [$t2, 'collectionloans', 'UpdateTerminal', '26120300001', 'book locker k1', 'book locker k2', 1, $u],
        ], $rows);
    }

    /** @dataProvider versions */
    public function testSiteCodesGoIntoTheLoan(string $v): void
    {
        $this->useVersion($v);
        $user = $this->user();
        $this->member('M-1');
        $this->item('B-1');
        $out = $this->circulation(['loan_id_prefix' => 'PUSAT', 'branch_id' => 3])
            ->checkOut('M-1', ['B-1'], '2026-12-03', $user, 't');
        // 3.x puts the site's code before the number; 3.3's id is a number.
        $id = $v === '3.3' ? '26120300001' : 'PUSAT26120300001';
        $this->assertSame($id, $out['B-1']['loan_id']);
        $this->assertEquals([$id, 3], $this->sql('SELECT ID, Branch_id FROM collectionloans')->fetch(PDO::FETCH_NUM));
        if ($v === '3.3') {
            $this->assertSame(3, (int) $this->one('SELECT Branch_id FROM collectionloanitems'));
        }
    }
}
