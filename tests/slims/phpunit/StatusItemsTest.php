<?php
// SPDX-License-Identifier: GPL-2.0-or-later
// POST status (heartbeat kept, commands handed out until done) and
// GET items/{barcode} (the oldest pending hold of this kiosk holding it).

final class StatusItemsTest extends SlimsTestCase
{
    private string $token;

    protected function setUp(): void
    {
        parent::setUp();
        $this->token = $this->store->addKiosk('k-01', '', 1);
        $this->member('M0012345', 'Siti Aminah');
        $this->item('B00012', 'Bumi Manusia');
    }

    private function heartbeat(array $body): array
    {
        [$status, , $reply] = $this->api('POST', '/kiosks/k-01/status', $this->token, $body);
        $this->assertSame(200, $status, json_encode($reply));
        return $reply;
    }

    public function test_a_heartbeat_is_stored_and_answered_with_server_time(): void
    {
        $body = ['at' => '2026-11-23T03:00:00.000Z', 'backlog' => 4, 'lockers' => [['number' => 1, 'door' => 'open']],
            'done_commands' => []];
        $reply = $this->heartbeat($body);
        $this->assertMatchesRegularExpression('/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/', $reply['server_time']);
        $this->assertSame([], $reply['commands']);
        $k = $this->store->kiosk('k-01');
        $this->assertSame($body, json_decode($k['last_status'], true));
        $this->assertNotNull($k['last_status_at']);
    }

    public function test_odd_fields_are_ignored_and_only_non_objects_refused(): void
    {
        $this->heartbeat(['lockers' => 'many', 'done_commands' => 'none', 'x' => [1]]);
        foreach (['[1, 2]', '{"at": "', '"text"'] as $bad) {
            [$status, , $reply] = $this->api('POST', '/kiosks/k-01/status', $this->token, $bad);
            $this->assertSame([400, 'bad_request'], [$status, $reply['error']['code']], $bad);
        }
    }

    public function test_commands_are_sent_until_the_kiosk_says_done(): void
    {
        $open = $this->store->addCommand('k-01', 'open_locker', 4, null, 'stuck door');
        $off = $this->store->addCommand('k-01', 'disable_locker', 7);
        $reply = $this->heartbeat(['done_commands' => []]);
        $this->assertSame([['id' => $open, 'type' => 'open_locker', 'locker' => 4, 'reason' => 'stuck door'],
            ['id' => $off, 'type' => 'disable_locker', 'locker' => 7]], $reply['commands']);
        $reply = $this->heartbeat(['done_commands' => [$open, 'not-ours']]);
        $this->assertSame([$off], array_column($reply['commands'], 'id'));
        $this->assertNotNull($this->row('SELECT done_at FROM lokerbuku_command WHERE command_id = ?', [$open])['done_at']);
    }

    public function test_an_open_locker_queued_before_expiry_existed_is_dropped_not_sent(): void
    {
        $open = $this->store->addCommand('k-01', 'open_locker', 4);
        $this->db->prepare('UPDATE lokerbuku_command SET created_at = ?, expires_at = NULL WHERE command_id = ?')
            ->execute([gmdate('Y-m-d H:i:s', time() - 600), $open]);
        $this->assertSame([], $this->heartbeat(['done_commands' => []])['commands']);
        $this->assertSame(1, $this->rowsOf('SELECT dropped FROM lokerbuku_command WHERE command_id = ?', [$open]));
    }

    public function test_another_kiosks_commands_stay_there(): void
    {
        $this->store->addKiosk('k-02', '', 1);
        $this->store->addCommand('k-02', 'sync_now');
        $this->assertSame([], $this->heartbeat(['done_commands' => []])['commands']);
    }

    public function test_commands_are_checked_before_they_are_queued(): void
    {
        foreach ([['open_locker', null], ['open_locker', 129], ['fly', 1]] as [$type, $locker]) {
            try {
                $this->store->addCommand('k-01', $type, $locker);
                $this->fail("$type $locker queued");
            } catch (InvalidArgumentException $e) {
                $this->assertNotSame('', $e->getMessage());
            }
        }
    }

    public function test_an_item_of_a_pending_hold_finds_it(): void
    {
        $id = $this->routed('M0012345', ['B00012']);
        [$status, , $reply] = $this->api('GET', '/kiosks/k-01/items/B00012', $this->token);
        $this->assertSame(200, $status);
        $this->assertSame($id, $reply['hold']['id']);
        $this->assertSame('B00012', $reply['hold']['items'][0]['barcode']);
    }

    public function test_barcodes_are_compared_byte_for_byte(): void
    {
        $this->routed('M0012345', ['B00012']);
        [$status, , $reply] = $this->api('GET', '/kiosks/k-01/items/b00012', $this->token);
        $this->assertSame([404, 'not_found'], [$status, $reply['error']['code']]);
    }

    public function test_an_encoded_barcode_is_decoded_once(): void
    {
        $this->item('B/0?12', 'Slash');
        $this->item('B%2F', 'Percent');
        $a = $this->routed('M0012345', ['B/0?12']);
        $b = $this->routed('M0012345', ['B%2F']);
        $this->assertSame($a, $this->api('GET', '/kiosks/k-01/items/B%2F0%3F12', $this->token)[2]['hold']['id']);
        $this->assertSame($b, $this->api('GET', '/kiosks/k-01/items/B%252F', $this->token)[2]['hold']['id']);
    }

    public function test_loaded_or_elsewhere_holds_are_not_found(): void
    {
        $this->store->addKiosk('k-02', '', 1);
        $this->item('B2');
        $id = $this->routed('M0012345', ['B00012']);
        $this->routed('M0012345', ['B2'], 'k-02');
        $this->post($this->token, [self::event('hold_loaded', ['hold_id' => $id, 'locker' => 1])]);
        $this->assertSame(404, $this->api('GET', '/kiosks/k-01/items/B00012', $this->token)[0]);
        $this->assertSame(404, $this->api('GET', '/kiosks/k-01/items/B2', $this->token)[0]);
    }
}
