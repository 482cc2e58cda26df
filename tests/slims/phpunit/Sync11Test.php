<?php
// SPDX-License-Identifier: GPL-2.0-or-later
// Locker Sync API v1.1 (docs/sync-api.md), negotiated per request: what
// a kiosk that says Lokerbuku-Sync: 1.1 gets, and that a v1 kiosk gets
// none of it.

final class Sync11Test extends SlimsTestCase
{
    private string $token;

    protected function setUp(): void
    {
        parent::setUp();
        $this->token = $this->store->addKiosk('k-01', 'Perpustakaan Kota', 1);
        $this->member('M0012345', 'Siti Aminah');
        $this->item('B00012', 'Bumi Manusia');
        $this->item('B00013', 'Laskar Pelangi');
    }

    private function call(string $method, string $path, $body = '', ?string $sync = '1.1'): array
    {
        return $this->api($method, "/kiosks/k-01/$path", $this->token, $body, $sync);
    }

    public function test_every_reply_says_the_server_speaks_1_1(): void
    {
        foreach ([['GET', 'changes', null], ['GET', 'changes', '1.1'], ['GET', 'nothing', '1.1'],
            ['POST', 'changes', null]] as [$m, $path, $sync]) {
            [, $headers] = $this->call($m, $path, '', $sync);
            $this->assertSame('1.1', $headers['Lokerbuku-Sync'] ?? null, "$m $path");
        }
        [, $headers] = $this->api('GET', '/kiosks/k-01/changes', null);
        $this->assertSame('1.1', $headers['Lokerbuku-Sync'], 'a 401 too');
    }

    public function test_post_items_lookup_finds_the_hold_with_the_barcode_in_the_body(): void
    {
        $id = $this->routed('M0012345', ['B00012']);
        [$status, , $reply] = $this->call('POST', 'items/lookup', ['barcode' => 'B00012']);
        $this->assertSame([200, $id], [$status, $reply['hold']['id']]);
        [$status, , $reply] = $this->call('POST', 'items/lookup', ['barcode' => 'NO-SUCH']);
        $this->assertSame([404, 'not_found'], [$status, $reply['error']['code']]);
        $this->assertStringNotContainsString('NO-SUCH', json_encode($reply), 'the scan is not repeated');
        foreach (['{"barcode": ""}', '{}', '[1]', 'no', '{"barcode": "a b"}', '{"barcode": 12}'] as $bad) {
            [$status, , $reply] = $this->call('POST', 'items/lookup', $bad);
            $this->assertSame([400, 'bad_request'], [$status, $reply['error']['code']], $bad);
        }
        [$status, $headers] = $this->call('PUT', 'items/lookup', ['barcode' => 'B00012']);
        $this->assertSame([405, 'GET, POST'], [$status, $headers['Allow']]);
        // A GET is v1's lookup of the barcode "lookup".
        $this->assertSame(404, $this->call('GET', 'items/lookup')[0]);
    }

    public function test_a_refused_checkout_is_accepted_with_refused_for_a_v11_kiosk_only(): void
    {
        $this->member('M-OLD', 'Lama', '2026-11-01');
        foreach (['1.1' => true, null => false] as $sync => $told) {
            $this->item("B-$sync");
            $id = $this->routed('M-OLD', ["B-$sync"]);
            $e = self::event('hold_picked_up', ['hold_id' => $id, 'locker' => 3,
                'actor' => 'patron:' . self::hmac('card:M-OLD')]);
            [$status, , $reply] = $this->call('POST', 'events', ['events' => [$e]], $sync === '' ? null : $sync);
            $this->assertSame(200, $status);
            $r = $reply['results'][0];
            $this->assertSame('accepted', $r['status']);
            if ($told) {
                $this->assertSame('member_expired', $r['refused']['code']);
                $this->assertStringContainsString("B-$sync: member_expired", $r['refused']['text']);
            } else {
                $this->assertArrayNotHasKey('refused', $r, 'a v1 kiosk never gets refused');
            }
        }
    }

    public function test_the_loan_limit_is_a_refusal_the_kiosk_learns(): void
    {
        $this->item('B1');
        $this->item('B2');
        $this->lend('M0012345', 'B1', '2026-11-01', '2026-11-08');
        $this->lend('M0012345', 'B2', '2026-11-01', '2026-11-08');
        $id = $this->routed('M0012345', ['B00012']);
        $e = self::event('hold_picked_up', ['hold_id' => $id, 'locker' => 3]);
        [, , $reply] = $this->call('POST', 'events', ['events' => [$e]]);
        $this->assertSame(['code' => 'loan_limit_reached', 'text' => 'B00012: loan_limit_reached'],
            $reply['results'][0]['refused']);
        // Sent again (resend_events): a duplicate, not a second refusal.
        [, , $reply] = $this->call('POST', 'events', ['events' => [$e]]);
        $this->assertSame(['id' => $e['id'], 'status' => 'duplicate'], $reply['results'][0]);
    }

    public function test_a_loaded_hold_carries_its_locker_to_a_v11_kiosk_only(): void
    {
        $id = $this->routed('M0012345', ['B00012']);
        $this->post($this->token, [self::event('hold_loaded', ['hold_id' => $id, 'locker' => 7])]);
        [, , $c11] = $this->call('GET', 'changes');
        $this->assertSame(7, $c11['holds'][0]['locker']);
        [, , $c10] = $this->call('GET', 'changes', '', null);
        $this->assertArrayNotHasKey('locker', $c10['holds'][0]);
    }

    public function test_a_new_card_reaches_a_loaded_hold(): void
    {
        $id = $this->routed('M0012345', ['B00012']);
        $this->post($this->token, [self::event('hold_loaded', ['hold_id' => $id, 'locker' => 7])]);
        [, , $c] = $this->call('GET', 'changes');
        $old = $this->store->enrolCard('M0012345', '04A1B2C3');
        [, , $d] = $this->call('GET', 'changes?cursor=' . rawurlencode($c['cursor']));
        $this->assertSame([$id], array_column($d['holds'], 'id'), 'the loaded hold again');
        $this->assertContains($old, $d['holds'][0]['credentials']);
        $this->store->removeCard($old);
        [, , $e] = $this->call('GET', 'changes?cursor=' . rawurlencode($d['cursor']));
        $this->assertNotContains($old, $e['holds'][0]['credentials'], 'a lost card no longer opens');
    }

    public function test_commands_expire_for_a_v11_kiosk_and_are_withheld_from_a_v1_kiosk(): void
    {
        $open = $this->store->addCommand('k-01', 'open_locker', 4);
        $sync = $this->store->addCommand('k-01', 'sync_now');
        [, , $r] = $this->call('POST', 'status', ['done_commands' => []]);
        $this->assertSame(['id' => $open, 'type' => 'open_locker', 'locker' => 4], array_diff_key($r['commands'][0],
            ['expires_at' => 1]));
        $in = strtotime($r['commands'][0]['expires_at']) - strtotime($r['server_time']);
        $this->assertGreaterThan(240, $in, 'open_locker: 5 minutes');
        $this->assertLessThanOrEqual(300, $in);
        $this->assertArrayNotHasKey('expires_at', $r['commands'][1]);
        [, , $r] = $this->call('POST', 'status', ['done_commands' => []], null);
        $this->assertArrayNotHasKey('expires_at', $r['commands'][0], 'a v1 kiosk: no v1.1 field');
        $this->db->prepare('UPDATE lokerbuku_command SET expires_at = ? WHERE command_id = ?')
            ->execute([gmdate('Y-m-d H:i:s', time() - 1), $open]);
        [, , $r] = $this->call('POST', 'status', ['done_commands' => []], null);
        $this->assertSame([$sync], array_column($r['commands'], 'id'), 'an expired command never goes to v1');
        [, , $r] = $this->call('POST', 'status', ['done_commands' => []]);
        $this->assertSame([$open, $sync], array_column($r['commands'], 'id'), 'v1.1: sent, to be acknowledged');
        $this->assertLessThan(strtotime($r['server_time']), strtotime($r['commands'][0]['expires_at']));
    }

    public function test_resend_events_from_one_past_the_newest_event_to_v11_kiosks_only(): void
    {
        $this->post($this->token, [self::event('door_closed', ['locker' => 1])]);
        $newest = self::$seq;
        $c = $this->store->addCommand('k-01', 'resend_events');
        $from = $this->store->addCommand('k-01', 'resend_events', null, null, 'bug fixed', 17);
        [, , $r] = $this->call('POST', 'status', ['done_commands' => []], null);
        $this->assertSame([], $r['commands'], 'a v1 kiosk does not know it');
        [, , $r] = $this->call('POST', 'status', ['done_commands' => []]);
        $this->assertSame([['id' => $c, 'type' => 'resend_events', 'from_seq' => $newest + 1],
            ['id' => $from, 'type' => 'resend_events', 'reason' => 'bug fixed', 'from_seq' => 17]], $r['commands']);
        $this->expectException(InvalidArgumentException::class);
        $this->store->addCommand('k-01', 'resend_events', null, null, null, 0);
    }

    public function test_a_rejected_event_is_judged_afresh_when_it_comes_again(): void
    {
        $this->store->addKiosk('k-02', '', 1);
        $id = $this->routed('M0012345', ['B00012'], 'k-02');
        $e = self::event('hold_loaded', ['hold_id' => $id, 'locker' => 2]);
        [, , $r] = $this->call('POST', 'events', ['events' => [$e]]);
        $this->assertSame('rejected', $r['results'][0]['status']);
        // Routed back to k-01, the kiosk sends it again (resend_events).
        $this->store->cancelHold($id);
        $id2 = $this->routed('M0012345', ['B00012']);
        $e['payload']->hold_id = $id2;
        [, , $r] = $this->call('POST', 'events', ['events' => [$e]]);
        $this->assertSame('accepted', $r['results'][0]['status']);
    }

    public function test_a_partial_pickup_lends_the_books_taken_and_keeps_the_rest_on_hold(): void
    {
        $this->item('B00014', 'Cantik Itu Luka');
        // The installer's Standard members borrow 2 at most: 3 here.
        $this->db->exec('UPDATE mst_member_type SET loan_limit = 3 WHERE member_type_id = 1');
        $r = [$this->reserve('M0012345', 'B00012'), $this->reserve('M0012345', 'B00013'),
            $this->reserve('M0012345', 'B00014')];
        $id = $this->store->routeReservations($r, 'k-01', 'small');
        $this->post($this->token, [self::event('hold_loaded', ['hold_id' => $id, 'locker' => 3])]);
        $expires = $this->store->hold($id)['expires_at'];
        $e = self::event('hold_picked_up', ['hold_id' => $id, 'locker' => 3, 'items' => [['barcode' => 'B00012']],
            'left' => [['barcode' => 'B00013'], ['barcode' => 'B00014'], ['barcode' => 'B-STRAY']]]);
        [, , $reply] = $this->call('POST', 'events', ['events' => [$e]]);
        $this->assertSame('accepted', $reply['results'][0]['status']);
        $h = $this->store->hold($id);
        $this->assertSame(['loaded', '3', $expires], [$h['state'], (string) $h['locker'], $h['expires_at']],
            'still loaded in the same locker, its time to collect not started again');
        $this->assertSame(['B00012'], array_column($this->rows('SELECT item_code FROM loan WHERE member_id = ?',
            ['M0012345']), 'item_code'));
        $this->assertSame(['B00013', 'B00014'], array_column($this->rows('SELECT item_code FROM reserve'
            . ' ORDER BY item_code'), 'item_code'), 'the books left stay reserved');
        $this->assertSame(['B00013', 'B00014'], $this->store->holdItems($id));
        $this->assertStringContainsString('B-STRAY: not_in_hold', $h['note']);
        // Sent again (a new card), it lists only the books left.
        $this->store->enrolCard('M0012345', '04A1B2C3');
        [, , $c] = $this->call('GET', 'changes');
        $this->assertSame(['B00013', 'B00014'], array_column($c['holds'][0]['items'], 'barcode'));
        // The rest collected later, without left: the hold is finished.
        $e2 = self::event('hold_picked_up', ['hold_id' => $id, 'locker' => 3,
            'items' => [['barcode' => 'B00013'], ['barcode' => 'B00014']]]);
        $this->call('POST', 'events', ['events' => [$e2]]);
        $this->assertSame('picked_up', $this->store->hold($id)['state']);
        $this->assertSame(3, $this->rowsOf("SELECT COUNT(*) FROM loan WHERE member_id = 'M0012345'"));
        $this->assertSame(0, $this->rowsOf('SELECT COUNT(*) FROM reserve'));
    }

    private function rows(string $sql, array $args = []): array
    {
        $st = $this->db->prepare($sql);
        $st->execute($args);
        return $st->fetchAll(\PDO::FETCH_ASSOC);
    }

    public function test_lockers_that_differ_from_the_heartbeat_are_shown_once_nothing_is_on_its_way(): void
    {
        $a = $this->routed('M0012345', ['B00012']);
        $b = $this->routed('M0012345', ['B00013']);
        $this->post($this->token, [self::event('hold_loaded', ['hold_id' => $a, 'locker' => 2]),
            self::event('hold_loaded', ['hold_id' => $b, 'locker' => 5])]);
        $beat = fn(int $backlog, array $lockers) => $this->call('POST', 'status',
            ['backlog' => $backlog, 'lockers' => $lockers]);
        $beat(0, [['number' => 2, 'hold' => $a], ['number' => 5, 'hold' => $b], ['number' => 6]]);
        $this->assertSame([], $this->store->lockerDifferences('k-01'), 'they agree');
        $beat(1, [['number' => 2, 'hold' => $a]]);
        $this->assertSame([], $this->store->lockerDifferences('k-01'), 'an event on its way explains it');
        $beat(0, [['number' => 2, 'hold' => $a], ['number' => 6, 'hold' => 'X-9']]);
        $this->assertSame(["hold $b is in locker 5 here, the kiosk has nothing there",
            'locker 6: the kiosk has hold X-9, here not in a locker'], $this->store->lockerDifferences('k-01'));
        $html = (new \Lokerbuku\Slims\AdminPage($this->store, 'x', 'csrf-1'))->render();
        $this->assertStringContainsString("hold $b is in locker 5 here, the kiosk has nothing there", $html);
    }
}
