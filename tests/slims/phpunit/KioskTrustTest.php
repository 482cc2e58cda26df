<?php
// SPDX-License-Identifier: GPL-2.0-or-later
// Issue 17, points 7 and 8: the server decides what a kiosk's events may
// change in SLiMS (the hold's items only; returns a staff task unless the
// kiosk is trusted with them, then loans only), and every loan and return
// made for a kiosk is a SLiMS user's, in system_log as desk ones are.

use Lokerbuku\Slims\AdminPage;

final class KioskTrustTest extends SlimsTestCase
{
    private string $token;

    protected function setUp(): void
    {
        parent::setUp();
        $this->db->exec("INSERT INTO user (user_id, username, realname, passwd) VALUES (7, 'kios', 'Loker Kota', 'x')");
        $this->token = $this->store->addKiosk('k-01', 'Perpustakaan Kota', 7);
        $this->member('M1', 'Siti Aminah');
        $this->member('M2', 'Budi Santoso');
        foreach (['B1', 'B2', 'B3', 'B9'] as $code) {
            $this->item($code, "Buku $code");
        }
    }

    private function pickup(string $hold, array $items): array
    {
        $p = ['hold_id' => $hold, 'locker' => 1];
        if ($items) {
            $p['items'] = array_map(fn($b) => ['barcode' => $b], $items);
        }
        return self::event('hold_picked_up', $p);
    }

    private function lentTo(string $item): ?string
    {
        $r = $this->row('SELECT member_id FROM loan WHERE item_code = ? AND is_return = 0', [$item]);
        return $r['member_id'] ?? null;
    }

    public function test_a_pickup_lends_only_items_of_its_hold(): void
    {
        $hold = $this->routed('M1', ['B1', 'B2']);
        $this->lend('M2', 'B9', '2026-11-20', '2026-11-27');
        [, $r] = $this->post($this->token, [$e = $this->pickup($hold, ['B1', 'B3', 'B9'])]);
        $this->assertSame('accepted', $r[$e['id']]['status']);
        $this->assertSame('M1', $this->lentTo('B1'));
        $this->assertNull($this->lentTo('B2'), 'narrowed by the kiosk: not taken');
        $this->assertNull($this->lentTo('B3'), 'in no hold: never lent');
        $this->assertSame('M2', $this->lentTo('B9'), "another member's loan untouched");
        $ev = $this->row('SELECT outcome, attention FROM lokerbuku_event WHERE event_id = ?', [$e['id']]);
        $this->assertSame(1, (int) $ev['attention']);
        $this->assertStringContainsString('B3: not_in_hold', $ev['outcome']);
    }

    public function test_a_pickup_without_items_lends_the_whole_hold(): void
    {
        $hold = $this->routed('M1', ['B1', 'B2']);
        $this->post($this->token, [$this->pickup($hold, [])]);
        $this->assertSame(['M1', 'M1'], [$this->lentTo('B1'), $this->lentTo('B2')]);
    }

    public function test_kiosk_loans_are_the_kiosk_users_and_logged_as_at_the_desk(): void
    {
        $hold = $this->routed('M1', ['B1']);
        $this->post($this->token, [$this->pickup($hold, [])]);
        $this->assertSame(7, $this->rowsOf("SELECT uid FROM loan WHERE item_code = 'B1'"));
        $log = $this->row("SELECT log_type, id, log_location, sub_module, action, log_msg FROM system_log"
            . " WHERE log_location = 'circulation'");
        $this->assertSame(['member', 'M1', 'circulation', 'Loan', 'Add'],
            [$log['log_type'], $log['id'], $log['log_location'], $log['sub_module'], $log['action']]);
        $this->assertSame('Loker Kota insert new loan (B1) for member (M1) at book locker k-01', $log['log_msg']);
    }

    public function test_the_kiosk_user_is_chosen_per_kiosk_and_must_exist(): void
    {
        $this->store->setKioskSettings('k-01', 7, false, 1);
        $hold = $this->routed('M1', ['B1']);
        $this->post($this->token, [$this->pickup($hold, [])]);
        $this->assertSame(1, $this->rowsOf("SELECT uid FROM loan WHERE item_code = 'B1'"));
        $this->expectException(InvalidArgumentException::class);
        $this->store->setKioskSettings('k-01', 7, false, 999);
    }

    public function test_a_return_is_a_staff_task_by_default(): void
    {
        $this->lend('M2', 'B9', '2026-11-20', '2026-11-27');
        [, $r] = $this->post($this->token, [$e = self::event('return_deposited',
            ['locker' => 4, 'items' => [['barcode' => 'B9']]])]);
        $this->assertSame('accepted', $r[$e['id']]['status']);
        $this->assertSame('M2', $this->lentTo('B9'), 'not checked in by the kiosk');
        $page = new AdminPage($this->store, 'self', 'csrf-1', 1);
        $html = $page->render();
        $this->assertMatchesRegularExpression('/<tr data-event="' . $e['id'] . '">.*name="action" value="checkin"/s', $html);
        $msg = $page->act(['lokerbuku_csrf' => 'csrf-1', 'action' => 'checkin', 'event' => $e['id'],
            'items' => 'B9'], true);
        $this->assertStringContainsString('B9: returned', $msg);
        $this->assertNull($this->lentTo('B9'));
        $this->assertSame(1, $this->rowsOf("SELECT COUNT(*) FROM system_log WHERE action = 'Return'"
            . " AND log_msg = 'Administrator return item B9 for member (M2) from book locker k-01'"));
        $this->assertStringNotContainsString('data-event="' . $e['id'] . '"', $page->render(), 'done: off the list');
    }

    public function test_automatic_check_in_is_opt_in_and_only_of_loans(): void
    {
        $this->assertSame(0, $this->rowsOf("SELECT auto_checkin FROM lokerbuku_kiosk WHERE kiosk_id = 'k-01'"));
        $this->store->setKioskSettings('k-01', 7, false, 7, true);
        $this->lend('M2', 'B9', '2026-11-20', '2026-11-27');
        [, $r] = $this->post($this->token, [$e = self::event('return_deposited',
            ['locker' => 4, 'items' => [['barcode' => 'B9'], ['barcode' => 'B3']]])]);
        $this->assertNull($this->lentTo('B9'));
        $this->assertSame(0, $this->rowsOf("SELECT COUNT(*) FROM loan WHERE item_code = 'B3'"));
        $this->assertSame(1, $this->rowsOf("SELECT COUNT(*) FROM system_log WHERE action = 'Return'"
            . " AND log_msg = 'Loker Kota return item B9 for member (M2) at book locker k-01'"));
        $ev = $this->row('SELECT outcome, attention FROM lokerbuku_event WHERE event_id = ?', [$e['id']]);
        $this->assertStringContainsString('B3: not on loan', $ev['outcome']);
    }

    public function test_a_token_reaches_only_its_kiosks_holds(): void
    {
        $other = $this->store->addKiosk('k-02', 'Cabang', 1);
        $hold = $this->routed('M1', ['B1']);
        [$status] = $this->api('POST', '/kiosks/k-01/events', $other, ['events' => [$this->pickup($hold, [])]]);
        $this->assertSame(403, $status);
        [, $r] = $this->post($other, [$e = $this->pickup($hold, [])], 'k-02');
        $this->assertSame('unknown_hold', $r[$e['id']]['reason']);
        $this->assertNull($this->lentTo('B1'));
    }
}
