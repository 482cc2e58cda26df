<?php
// SPDX-License-Identifier: GPL-2.0-or-later
// INLISLite as the shared sync server sees it (Library), driven through
// the shared Store and Events as a kiosk's upload drives them: members and
// items as kiosks get them, a pickup lent exactly once with its event id,
// and a refusal kept on the event and the hold for staff, never lost.
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
}
