<?php
// SPDX-License-Identifier: GPL-2.0-or-later
// INLISLite as the shared sync server sees it (Library), driven through
// the shared Store and Events as a kiosk's upload drives them: members and
// items as kiosks get them, a pickup lent exactly once with its event id,
// a refusal kept on the event and the hold for staff, never lost, and a
// return deposited at a kiosk checked in by staff exactly once.
// These tests commit (Events opens its own transactions), so they clean
// up INLISLite's rows and the bridge's tables after each test.

use Lokerbuku\Inlislite\Library;
use Lokerbuku\Sync\Events;
use Lokerbuku\Sync\Outcome;
use Lokerbuku\Sync\Schema;
use Lokerbuku\Sync\Store;

final class LibraryTest extends InlisliteTestCase
{
    private ?Store $store = null;

    protected function useVersion(string $version): void
    {
        parent::useVersion($version);
        $this->db->commit();
        Schema::create($this->db, 'lokerbuku_');
        foreach (Library::tables('lokerbuku_') as $name => $ddl) {
            $this->db->exec("CREATE TABLE IF NOT EXISTS $name $ddl ENGINE=InnoDB");
        }
        $key = tempnam(sys_get_temp_dir(), 'lb-key');
        file_put_contents($key, bin2hex(random_bytes(32)));
        $this->store = new Store($this->db, $this->library(), 'lokerbuku_');
        $this->store->config()->setSiteKeyFile($key);
    }

    private function library(): Library
    {
        return new Library($this->db, $this->circulation(), null, null, 'lokerbuku_');
    }

    protected function tearDown(): void
    {
        if (!isset($this->db)) {
            return;
        }
        if ($this->db->inTransaction()) {
            $this->db->rollBack();
        }
        $this->db->exec('SET FOREIGN_KEY_CHECKS = 0');
        foreach (['collectionloanitems', 'collectionloans', 'memberloanauthorizelocation',
            'memberloanauthorizecategory', 'members', 'collections', 'pelanggaran'] as $t) {
            $this->db->exec("DELETE FROM $t");
        }
        $this->db->exec("DELETE FROM catalogs WHERE ControlNumber LIKE 'LB-%'");
        $this->db->exec("DELETE FROM userloclibforloan WHERE User_id IN (SELECT ID FROM users WHERE username LIKE 'lbt-%')");
        $this->db->exec("DELETE FROM users WHERE username LIKE 'lbt-%'");
        foreach (array_merge(array_keys(Schema::tables('lokerbuku_')), array_keys(Library::tables('lokerbuku_'))) as $t) {
            $this->db->exec("DROP TABLE IF EXISTS $t");
        }
        $this->db->exec('SET FOREIGN_KEY_CHECKS = 1');
    }

    /**
     * The staff user loans are made by, from that version's accounts:
     * 3.x `users` (Fullname, IsActive), 3.3 myth/auth `users` (username,
     * active, deleted_at).
     * @dataProvider versions
     */
    public function testActorIsAnActiveStaffAccountOfThatVersion(string $v): void
    {
        $this->useVersion($v);
        $u = $this->user('sari');
        $a = $this->library()->actor($u, 'k1');
        $this->assertSame([$u, $v === '3.3' ? 'sari' : 'Petugas sari', ' at book locker k1'],
            [$a->userId, $a->name, $a->where]);
        $this->sql($v === '3.3' ? 'UPDATE users SET deleted_at = NOW() WHERE id = ?'
            : "UPDATE users SET IsActive = b'0' WHERE ID = ?", [$u]);
        $this->assertNull($this->library()->actor($u, 'k1'));
        $this->assertNull($this->library()->actor($u + 1000, 'k1'));
    }

    /** @dataProvider versions */
    public function testMembersAndItemsAsKiosksSeeThem(string $v): void
    {
        $this->useVersion($v);
        $this->member('M-1', ['Fullname' => 'Siti Aminah', 'NoHp' => '0812', 'Phone' => '0370']);
        $this->member('M-2', ['EndDate' => '2020-01-01']);
        $this->member('M-3', ['StatusAnggota_id' => 1]);
        $this->member('M-4', ['Phone' => '0370', 'NoHp' => '']);
        $lib = $this->library();
        $m = $lib->member(' M-1 ');
        $this->assertSame(['M-1', 'Siti', '0812', null], [$m->memberNo, $m->firstName(), $m->phone, $m->refusal]);
        $this->assertSame(Outcome::MEMBER_EXPIRED, $lib->member('M-2')->refusal);
        $this->assertSame(Outcome::MEMBER_PENDING, $lib->member('M-3')->refusal);
        $this->assertSame('0370', $lib->member('M-4')->phone);
        $this->assertNull($lib->member('M-9'));

        $this->item('B-1');
        $this->item('B-2', ['Rule_id' => 2]);
        $this->item('B-3', ['BookingMemberID' => 'M-4', 'BookingExpiredDate' => '2099-01-01 00:00:00']);
        $this->item('B-4', ['BookingMemberID' => 'M-4', 'BookingExpiredDate' => '2020-01-01 00:00:00']);
        $i = $lib->item(' B-1');
        $this->assertSame(['B-1', 'Judul B-1', true, null], [$i->barcode, $i->title, $i->loanable, $i->queueHead]);
        $this->assertFalse($lib->item('B-2')->loanable);
        $this->assertSame('M-4', $lib->item('B-3')->queueHead, 'an OPAC booking still running');
        $this->assertNull($lib->item('B-4')->queueHead, 'a booking that lapsed');
        $this->assertNull($lib->item('B-9'));
    }

    private function event(string $type, string $holdId, int $seq, array $items = []): object
    {
        $p = ['hold_id' => $holdId, 'locker' => 1];
        if ($items) {
            $p['items'] = array_map(fn($b) => ['barcode' => $b], $items);
        }
        return json_decode(json_encode(['id' => sprintf('00000000-0000-4000-8000-%012d', $seq), 'seq' => $seq,
            'type' => $type, 'at' => gmdate('Y-m-d\TH:i:s\Z'), 'payload' => $p]));
    }

    /** @dataProvider versions */
    public function testPickupLendsOnceAndKeepsARefusalForStaff(string $v): void
    {
        $this->useVersion($v);
        $this->now = date('Y-m-d H:i:s');
        $user = $this->user('lbt-1');
        $this->member('M-1');
        $this->member('M-2');
        $this->item('B-1');
        $this->item('B-2');
        $this->store->addKiosk('k1', 'Loker', $user);
        $hold = $this->store->routeItems('M-1', ['B-1', 'B-2'], 'k1');
        // Staff route items one by one too: each hold its own id.
        $this->item('B-3');
        $this->item('B-4');
        $h3 = $this->store->routeItems('M-2', ['B-3'], 'k1');
        $h4 = $this->store->routeItems('M-2', ['B-4'], 'k1');
        $this->assertCount(3, array_unique([$hold, $h3, $h4]));
        // Meanwhile the desk lent B-2 to someone else.
        $this->circulation()->checkOut('M-2', ['B-2'], substr($this->now, 0, 10), $user, 'desk');

        $events = new Events($this->store);
        $r = $events->take('k1', [$this->event('hold_loaded', $hold, 1), $this->event('hold_picked_up', $hold, 2)]);
        $this->assertSame(['accepted', 'accepted'], array_column($r, 'status'));
        $this->assertSame(1, (int) $this->one("SELECT COUNT(*) FROM collectionloanitems cli JOIN members m"
            . " ON m.ID = cli.member_id WHERE m.MemberNo = 'M-1' AND cli.LoanStatus = 'Loan'"));
        $ev = $this->sql('SELECT outcome, attention FROM lokerbuku_event WHERE seq = 2')->fetch(PDO::FETCH_NUM);
        $this->assertStringContainsString('B-1: loan ', $ev[0]);
        $this->assertStringContainsString('B-2: item_already_lent', $ev[0]);
        $this->assertSame(1, (int) $ev[1], 'staff are asked to look');
        $this->assertStringContainsString('B-2: item_already_lent',
            (string) $this->one('SELECT note FROM lokerbuku_hold WHERE hold_id = ?', [$hold]));

        // The kiosk sends it again (a lost reply): nothing is lent twice.
        $r = $events->take('k1', [$this->event('hold_picked_up', $hold, 2)]);
        $this->assertSame('duplicate', $r[0]['status']);
        $this->assertSame(2, (int) $this->one('SELECT COUNT(*) FROM collectionloanitems'));
    }

    /**
     * A return deposited at a kiosk waits for staff (INLISLite's
     * self-return refuses late books, so the bridge does not check in by
     * itself); the staff member signed in checks in what they took out,
     * written as INLISLite's return writes it in their name, late days
     * included, and the task closes once.
     * @dataProvider versions
     */
    public function testStaffCheckInADepositedReturnOnceInTheirName(string $v): void
    {
        $this->useVersion($v);
        $kioskUser = $this->user('lbt-kiosk');
        $staff = $this->user('lbt-desk');
        $this->member('M-1');
        $this->item('B-1');
        $this->item('B-2');
        $this->store->addKiosk('k1', 'Loker', $kioskUser);
        $this->circulation()->checkOut('M-1', ['B-1', 'B-2'], '2026-11-05', $kioskUser, 'book locker k1');
        // Due two weeks before today (2026-12-03, a Thursday).
        $this->db->exec("UPDATE collectionloanitems SET DueDate = '2026-11-19 00:00:00'");
        $id = '00000000-0000-4000-8000-000000000011';
        $r = (new Events($this->store))->take('k1', [json_decode(json_encode(['id' => $id, 'seq' => 11,
            'type' => 'return_deposited', 'at' => gmdate('Y-m-d\TH:i:s\Z'),
            'payload' => ['locker' => 11, 'actor' => 'patron:' . str_repeat('ab', 32),
                'items' => [['barcode' => 'B-1']]]]))]);
        $this->assertSame('accepted', $r[0]['status']);
        $this->assertSame(2, (int) $this->one("SELECT COUNT(*) FROM collectionloanitems WHERE LoanStatus = 'Loan'"),
            'nothing checked in by the kiosk itself');

        $events = new Events($this->store);
        $this->assertSame([['event_id' => $id, 'kiosk_id' => 'k1', 'locker' => 11, 'items' => ['B-1']]],
            array_map(fn($e) => array_diff_key($e, ['at' => 1]), $events->returnsWaiting()));
        foreach ([[[], $staff, 'give the barcodes'], [['B-1'], $staff + 1000, 'no INLISLite user'],
            [array_map(fn($i) => "X-$i", range(1, 65)), $staff, '1 to 64']] as [$codes, $uid, $why]) {
            try {
                $events->checkInReturn($id, $codes, '2026-12-03', $uid);
                $this->fail("checked in with $why");
            } catch (\InvalidArgumentException $e) {
                $this->assertStringContainsString($why, $e->getMessage());
            }
        }
        $this->assertCount(1, $events->returnsWaiting(), 'a refused check-in leaves the task');

        // Staff found B-1 in the compartment, and B-9 that is not on loan.
        $out = $events->checkInReturn($id, ['B-1', ' B-9 ', 'B-1'], '2026-12-03', $staff);
        $this->assertSame(['B-1', 'B-9'], array_keys($out));
        $late = $v === '3.3' ? 14 : 10; // 3.x leaves out the four weekend days
        $this->assertSame([true, 'M-1', $late], [$out['B-1']->done, $out['B-1']->data['member_no'],
            $out['B-1']->data['late_days']]);
        $this->assertSame(Outcome::NOT_ON_LOAN, $out['B-9']->code);
        $this->assertEquals(['Return', $this->now, $late, $staff],
            $this->sql("SELECT cli.LoanStatus, cli.ActualReturn, cli.LateDays, cli.UpdateBy FROM collectionloanitems cli"
                . " JOIN collections c ON c.ID = cli.Collection_id WHERE c.NomorBarcode = 'B-1'")->fetch(PDO::FETCH_NUM));
        $this->assertEquals([1, 5], $this->sql('SELECT Status_id FROM collections ORDER BY NomorBarcode')
            ->fetchAll(PDO::FETCH_COLUMN), 'B-1 Tersedia again, B-2 still Dipinjam');
        $this->assertSame(1, (int) $this->one('SELECT ReturnCount FROM collectionloans'));
        $ev = $this->sql('SELECT attention, outcome FROM lokerbuku_event WHERE event_id = ?', [$id])->fetch(PDO::FETCH_NUM);
        $this->assertSame(2, (int) $ev[0]);
        $this->assertStringStartsWith('checked in by staff: B-1: returned, ' . $late . ' days late', $ev[1]);
        $this->assertStringContainsString('B-9: not on loan', $ev[1]);
        $this->assertSame([], $events->returnsWaiting());

        // A second press (another tab, another clerk): nothing twice.
        $this->expectExceptionMessage('no such return waits');
        try {
            $events->checkInReturn($id, ['B-1'], '2026-12-03', $staff);
        } finally {
            $this->assertSame(1, (int) $this->one('SELECT ReturnCount FROM collectionloans'));
        }
    }
}
