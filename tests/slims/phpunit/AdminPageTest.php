<?php
// SPDX-License-Identifier: GPL-2.0-or-later
// The staff page: what it shows and what its forms do.

use Lokerbuku\Slims\AdminPage;

final class AdminPageTest extends SlimsTestCase
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

    private function page(): AdminPage
    {
        return new AdminPage($this->store, 'plugin_container.php?mod=circulation&id=x', 'csrf-1');
    }

    private function act(array $post, bool $canWrite = true): string
    {
        return $this->page()->act($post + ['lokerbuku_csrf' => 'csrf-1'], $canWrite);
    }

    public function test_waiting_reservations_are_listed_and_sent_to_a_kiosk(): void
    {
        $r1 = $this->reserve('M0012345', 'B00012');
        $r2 = $this->reserve('M0012345', 'B00013');
        $html = $this->page()->render();
        $this->assertStringContainsString('Bumi Manusia', $html);
        $this->assertStringContainsString('value="' . $r1 . '"', $html);
        $this->assertStringContainsString('<option value="k-01">', $html);
        $msg = $this->act(['action' => 'route', 'reserve' => [$r1, $r2], 'kiosk' => 'k-01', 'size' => 'medium']);
        $this->assertStringContainsString('Saved.', $msg);
        [, , $c] = $this->api('GET', '/kiosks/k-01/changes', $this->token);
        $this->assertSame('medium', $c['holds'][0]['size']);
        $this->assertCount(2, $c['holds'][0]['items']);
        // Routed: no longer waiting, now among the holds.
        $html = $this->page()->render();
        $this->assertStringNotContainsString('name="reserve[]" value="' . $r1 . '"', $html);
        $this->assertStringContainsString('B00012, B00013', $html);
    }

    public function test_forms_need_the_write_privilege_and_the_csrf_token(): void
    {
        $r1 = $this->reserve('M0012345', 'B00012');
        $post = ['action' => 'route', 'reserve' => [$r1], 'kiosk' => 'k-01'];
        $this->assertStringContainsString('not allowed', $this->act($post, false));
        $this->assertStringContainsString('not allowed', $this->page()->act($post + ['lokerbuku_csrf' => 'forged'], true));
        $this->assertSame(0, $this->rowsOf('SELECT COUNT(*) FROM lokerbuku_hold'));
    }

    public function test_a_refused_routing_says_why(): void
    {
        $this->member('M2', 'Budi');
        $this->reserve('M2', 'B00012', '2026-10-01 00:00:00');
        $mine = $this->reserve('M0012345', 'B00012');
        $msg = $this->act(['action' => 'route', 'reserve' => [$mine], 'kiosk' => 'k-01']);
        $this->assertStringContainsString('another member is ahead in the queue', $msg);
    }

    public function test_holds_in_lockers_show_locker_and_expiry(): void
    {
        $id = $this->routed('M0012345', ['B00012']);
        $this->post($this->token, [self::event('hold_loaded', ['hold_id' => $id, 'locker' => 6], '2026-11-23T03:00:00Z')]);
        $html = $this->page()->render();
        // Shown in the library's time (Jakarta, +7).
        $this->assertMatchesRegularExpression('/' . $id . '.*<td>6<\/td><td>loaded<\/td><td>2026-11-23 10:00<\/td><td>2026-11-30 10:00<\/td>/s', $html);
        $this->act(['action' => 'cancel', 'hold' => $id]);
        $this->assertSame('cancelled', $this->store->hold($id)['state']);
    }

    public function test_kiosks_show_online_doors_faults_backlog_and_take_commands(): void
    {
        $this->store->addKiosk('k-02', 'Cabang', 1);
        $this->api('POST', '/kiosks/k-01/status', $this->token, ['backlog' => 17, 'faults' => ['locker 3: not_opened'],
            'lockers' => [['number' => 3, 'size' => 'small', 'kind' => 'hold', 'door' => 'open', 'disabled' => false,
                'fault' => 'not_opened', 'alarm_left_open' => true], ['number' => 4, 'door' => 'closed', 'disabled' => true]],
            'done_commands' => []]);
        $html = $this->page()->render();
        $k1 = substr($html, strpos($html, 'data-kiosk="k-01"'));
        $k2 = substr($html, strpos($html, 'data-kiosk="k-02"'));
        $this->assertStringContainsString('Online', substr($k1, 0, 300));
        $this->assertStringContainsString('Offline', substr($k2, 0, 300));
        $this->assertStringContainsString('Backlog: 17', $k1);
        $this->assertStringContainsString('locker 3: not_opened', $k1);
        $this->assertStringContainsString('open, not_opened, left_open', $k1);
        $this->assertStringContainsString('closed, disabled', $k1);
        $this->act(['action' => 'command', 'kiosk' => 'k-01', 'type' => 'open_locker', 'locker' => '3']);
        $this->act(['action' => 'command', 'kiosk' => 'k-01', 'type' => 'disable_locker', 'locker' => '3']);
        [, , $s] = $this->api('POST', '/kiosks/k-01/status', $this->token, ['done_commands' => []]);
        $this->assertSame([['open_locker', 3], ['disable_locker', 3]],
            array_map(fn($c) => [$c['type'], $c['locker']], $s['commands']));
    }

    public function test_a_kiosk_silent_for_long_is_offline(): void
    {
        $this->api('POST', '/kiosks/k-01/status', $this->token, ['done_commands' => []]);
        $this->db->exec("UPDATE lokerbuku_kiosk SET last_status_at = '2026-01-01 00:00:00'");
        $html = $this->page()->render();
        $this->assertStringContainsString('Offline', substr($html, strpos($html, 'data-kiosk="k-01"'), 300));
    }

    public function test_events_needing_staff_are_shown_until_done(): void
    {
        [, $r] = $this->post($this->token, [$e = self::event('door_forced_open', ['locker' => 9])]);
        $html = $this->page()->render();
        $this->assertStringContainsString('door_forced_open', $html);
        $this->act(['action' => 'ack', 'event' => $e['id']]);
        $this->assertStringNotContainsString('door_forced_open', $this->page()->render());
    }

    public function test_set_up_forms_add_kiosks_cards_and_staff(): void
    {
        $msg = $this->act(['action' => 'add_kiosk', 'kiosk' => 'k-03', 'name' => 'Taman', 'user_id' => 1]);
        $this->assertMatchesRegularExpression('/<code class="lokerbuku-token">([0-9a-f]{64})<\/code>/', $msg);
        preg_match('/<code class="lokerbuku-token">([0-9a-f]{64})<\/code>/', $msg, $m);
        $this->assertSame('k-03', $this->store->kioskOfToken($m[1]));
        $this->act(['action' => 'enrol', 'member' => 'M0012345', 'uid' => '04 a1 b2 c3']);
        $this->assertSame('M0012345', $this->row('SELECT member_id FROM lokerbuku_card WHERE uid_hmac = ?',
            [self::hmac('uid:04A1B2C3')])['member_id']);
        $this->act(['action' => 'staff', 'credential' => '12345678', 'pin' => '135790', 'name' => 'Ani']);
        $this->act(['action' => 'staff', 'credential' => 'uid:04a1b2c3d4e5f6', 'pin' => '246813']);
        $creds = $this->db->query('SELECT credential FROM lokerbuku_staff ORDER BY seq')->fetchAll(\PDO::FETCH_COLUMN);
        $this->assertSame([self::hmac('card:12345678'), self::hmac('uid:04A1B2C3D4E5F6')], $creds);
        $this->assertStringContainsString('Not done', $this->act(['action' => 'staff', 'credential' => 'x', 'pin' => '12']));
        // Staff PINs reach every kiosk: 6 to 8 digits, as members' (docs/security.md).
        $this->assertStringContainsString('Not done', $this->act(['action' => 'staff', 'credential' => 'STAFF-4',
            'pin' => '1357']));
        $this->assertSame(2, $this->rowsOf('SELECT COUNT(*) FROM lokerbuku_staff'));
    }

    public function test_a_new_kiosk_asks_for_the_pin_unless_staff_choose_otherwise(): void
    {
        // The choice is on the form, PIN required selected, the trade-off said.
        $html = $this->page()->render();
        $this->assertMatchesRegularExpression('/<select name="pin_required"[^>]*><option value="1" selected>'
            . "[^<]*PIN \\(recommended\\)<\\/option><option value=\"0\">[^<]*a copied card[^<]*<\\/option>/", $html);
        // An older form (or a script) that does not say: the PIN is required.
        $this->act(['action' => 'add_kiosk', 'kiosk' => 'k-04', 'name' => 'Taman', 'user_id' => 1]);
        $this->assertSame(1, $this->rowsOf("SELECT pin_required FROM lokerbuku_kiosk WHERE kiosk_id = 'k-04'"));
        $this->act(['action' => 'add_kiosk', 'kiosk' => 'k-05', 'name' => 'Taman', 'user_id' => 1, 'pin_required' => '1']);
        $this->assertSame(1, $this->rowsOf("SELECT pin_required FROM lokerbuku_kiosk WHERE kiosk_id = 'k-05'"));
        $this->act(['action' => 'add_kiosk', 'kiosk' => 'k-06', 'name' => 'Taman', 'user_id' => 1, 'pin_required' => '0']);
        $this->assertSame(0, $this->rowsOf("SELECT pin_required FROM lokerbuku_kiosk WHERE kiosk_id = 'k-06'"));
        // The column's own default, for a row made without saying.
        $this->db->exec("INSERT INTO lokerbuku_kiosk (kiosk_id, token_sha256, created_at) VALUES ('k-07', REPEAT('a', 64), NOW())");
        $this->assertSame(1, $this->rowsOf("SELECT pin_required FROM lokerbuku_kiosk WHERE kiosk_id = 'k-07'"));
    }

    public function test_the_page_speaks_indonesian_and_escapes_what_it_shows(): void
    {
        $this->member('M<script>', '<b>Jahil</b>');
        $this->reserve('M<script>', 'B00012');
        putenv('LOKERBUKU_SLIMS_LANG=id_ID');
        try {
            $html = $this->page()->render();
        } finally {
            putenv('LOKERBUKU_SLIMS_LANG');
        }
        $this->assertStringContainsString('Reservasi menunggu', $html);
        $this->assertStringContainsString('Kirim ke kios loker', $html);
        $this->assertStringNotContainsString('<b>Jahil</b>', $html);
        $this->assertStringContainsString('&lt;b&gt;Jahil&lt;/b&gt;', $html);
    }

    public function test_myisam_slims_tables_are_warned_about(): void
    {
        $this->assertStringNotContainsString('not InnoDB', $this->page()->render());
        $this->db->exec('ALTER TABLE fines ENGINE=MyISAM');
        $this->assertSame(['fines'], $this->page()->myisamTables());
        $this->assertStringContainsString('not InnoDB, so a failed pickup cannot be undone in them: fines', $this->page()->render());
    }

    public function test_kiosk_settings_reach_the_kiosk_and_staff_can_be_removed(): void
    {
        $this->act(['action' => 'kiosk_settings', 'kiosk' => 'k-01', 'hold_window_days' => '3', 'pin_required' => '1']);
        [, , $c] = $this->api('GET', '/kiosks/k-01/changes', $this->token);
        $this->assertSame(['pin_required' => true, 'hold_window_days' => 3], $c['settings']);
        $this->assertStringContainsString('Not done', $this->act(['action' => 'kiosk_settings', 'kiosk' => 'k-01',
            'hold_window_days' => '0']));
        $this->act(['action' => 'staff', 'credential' => 'STAFF-9', 'pin' => '135790', 'name' => 'Ani']);
        $this->assertStringContainsString('Ani', $this->page()->render());
        $this->act(['action' => 'remove_staff', 'credential' => self::hmac('card:STAFF-9')]);
        [, , $d] = $this->api('GET', '/kiosks/k-01/changes?cursor=' . rawurlencode($c['cursor']), $this->token);
        $this->assertSame([self::hmac('card:STAFF-9')], $d['removed_staff']);
        $this->assertSame([], $this->store->staff());
    }

    public function test_every_form_is_submitted_within_slims_admin_shell(): void
    {
        $this->reserve('M0012345', 'B00012');
        $html = $this->page()->render();
        preg_match_all('/<form [^>]*>/', $html, $m);
        $this->assertGreaterThan(5, count($m[0]));
        foreach ($m[0] as $form) {
            $this->assertMatchesRegularExpression('/class="[^"]*\bsubmitViaAJAX\b/', $form);
            $this->assertStringContainsString('action="plugin_container.php?mod=circulation&amp;id=x"', $form);
        }
    }

    public function test_a_bad_site_key_path_is_refused_and_not_saved(): void
    {
        $before = $this->store->config()->get('site_key_file');
        $bad = tempnam(sys_get_temp_dir(), 'lokerbuku-bad-key');
        file_put_contents($bad, "not a key\n");
        try {
            foreach (['/nonexistent/site.key', $bad, 'relative/site.key', sys_get_temp_dir()] as $path) {
                $msg = $this->act(['action' => 'site_key_file', 'path' => $path]);
                $this->assertStringContainsString('alert-warning', $msg, $path);
                $this->assertStringContainsString('site key', $msg, $path);
                $this->assertSame($before, $this->store->config()->get('site_key_file'), $path);
            }
        } finally {
            unlink($bad);
        }
        $good = tempnam(sys_get_temp_dir(), 'lokerbuku-good-key');
        file_put_contents($good, str_repeat('ab', 32) . "\n");
        try {
            $this->assertStringContainsString('Saved.', $this->act(['action' => 'site_key_file', 'path' => $good]));
            $this->assertSame($good, $this->store->config()->get('site_key_file'));
        } finally {
            $this->store->config()->set('site_key_file', $before);
            unlink($good);
        }
    }

    public function test_an_api_failure_is_json_without_a_path_and_logged_for_staff(): void
    {
        $this->reserve('M0012345', 'B00012');
        $this->store->routeItems('M0012345', ['B00012'], 'k-01');
        $this->store->config()->set('site_key_file', '/nonexistent/lokerbuku/site.key');
        [$status, , $body] = $this->api('GET', '/kiosks/k-01/changes', $this->token);
        $this->assertSame(503, $status);
        $this->assertSame('unavailable', $body['error']['code']);
        $this->assertStringNotContainsString('/', json_encode($body, JSON_UNESCAPED_SLASHES));
        $this->assertSame(1, $this->rowsOf("SELECT COUNT(*) FROM system_log WHERE log_location = 'lokerbuku'"
            . " AND log_msg LIKE '%site key: no such file%'"));
    }

    public function test_staff_set_a_members_kiosk_pin_and_kiosk_settings(): void
    {
        $this->assertStringContainsString('alert-warning', $this->act(['action' => 'member_pin',
            'member' => 'M0012345', 'pin' => '1234']));
        $this->assertStringContainsString('Saved.', $this->act(['action' => 'member_pin',
            'member' => 'M0012345', 'pin' => '86420975']));
        $hash = $this->row('SELECT pin_hash FROM lokerbuku_member_pin WHERE member_id = ?', ['M0012345'])['pin_hash'];
        [, $iter, $salt, $h] = explode('$', $hash);
        $this->assertSame($h, bin2hex(hash_pbkdf2('sha256', '86420975', hex2bin($salt), (int) $iter, 32, true)));
        $this->assertStringContainsString('Saved.', $this->act(['action' => 'kiosk_settings', 'kiosk' => 'k-01',
            'hold_window_days' => '3', 'user_id' => '1', 'pin_required' => '1', 'auto_checkin' => '1']));
        $k = $this->store->kiosk('k-01');
        $this->assertSame([3, 1, 1, 1], [(int) $k['hold_window_days'], (int) $k['user_id'], (int) $k['pin_required'],
            (int) $k['auto_checkin']]);
        $html = $this->page()->render();
        $this->assertMatchesRegularExpression('/name="auto_checkin" value="1" checked/', $html);
        $this->assertMatchesRegularExpression('/<select name="user_id"[^>]*><option value="1" selected>/', $html);
    }
}
