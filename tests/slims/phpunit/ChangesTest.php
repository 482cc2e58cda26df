<?php
// SPDX-License-Identifier: GPL-2.0-or-later
// GET changes: full sets, deltas, paging, cursors, removals, staff,
// credentials (card, enrolled UID, pickup code, PIN) of routed holds.

use Lokerbuku\Sync\Credentials;

final class ChangesTest extends SlimsTestCase
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

    private function changes(string $query = ''): array
    {
        [$status, $headers, $body] = $this->api('GET', '/kiosks/k-01/changes' . $query, $this->token);
        $this->assertSame(200, $status, json_encode($body));
        return $body;
    }

    public function test_a_routed_reservation_is_a_hold_with_the_members_credentials(): void
    {
        $id = $this->routed('M0012345', ['B00012', 'B00013'], 'k-01', 'medium');
        $uid = $this->store->enrolCard('M0012345', '04A1B2C3D4E5F6');
        $c = $this->changes();
        $this->assertTrue($c['full']);
        $this->assertFalse($c['more']);
        $this->assertCount(1, $c['holds']);
        $h = $c['holds'][0];
        $this->assertSame($id, $h['id']);
        $this->assertSame('medium', $h['size']);
        $this->assertSame('Siti', $h['patron_name']);
        $this->assertSame([self::hmac('card:M0012345'), self::hmac('uid:04A1B2C3D4E5F6')], $h['credentials']);
        $this->assertSame($uid, $h['credentials'][1]);
        $this->assertMatchesRegularExpression('/^[0-9a-f]{64}$/', $h['code']);
        $this->assertNull($h['pin']);
        $this->assertSame([['barcode' => 'B00012', 'title' => 'Bumi Manusia'],
            ['barcode' => 'B00013', 'title' => 'Laskar Pelangi']], $h['items']);
        $this->assertNull($h['expires_at']);
        // Secure by default: a copied card or member number alone opens nothing.
        $this->assertSame(['pin_required' => true, 'hold_window_days' => 7], $c['settings']);
        // Only HMACs of the card are kept.
        $this->assertStringNotContainsString('04A1B2C3D4E5F6',
            json_encode($this->db->query('SELECT * FROM lokerbuku_card')->fetchAll()));
    }

    public function test_the_pickup_code_hash_is_that_of_a_6_digit_code(): void
    {
        $id = $this->routed('M0012345', ['B00012']);
        $hash = $this->changes()['holds'][0]['code'];
        // The message's code, unsealed as the notification will have it.
        $code = (new \Lokerbuku\Sync\Notify($this->store))->notice($id)->pickupCode;
        $this->assertMatchesRegularExpression('/^[0-9]{6}$/', $code);
        $this->assertSame(self::hmac("code:$code"), $hash);
    }

    public function test_a_delta_after_the_last_cursor_is_empty_and_repeatable(): void
    {
        $this->routed('M0012345', ['B00012']);
        $cursor = $this->changes()['cursor'];
        foreach ([1, 2] as $round) {
            $d = $this->changes('?cursor=' . rawurlencode($cursor));
            $this->assertFalse($d['full']);
            $this->assertSame([], $d['holds']);
            $this->assertSame($cursor, $d['cursor']);
        }
    }

    public function test_a_hold_routed_later_comes_as_a_delta(): void
    {
        $this->routed('M0012345', ['B00012']);
        $cursor = $this->changes()['cursor'];
        $id = $this->routed('M0012345', ['B00013']);
        $d = $this->changes('?cursor=' . rawurlencode($cursor));
        $this->assertFalse($d['full']);
        $this->assertSame([$id], array_column($d['holds'], 'id'));
    }

    public function test_unknown_or_empty_cursors_give_a_full_set(): void
    {
        $this->routed('M0012345', ['B00012']);
        foreach (['x:garbage', 's:1:ffffffff', 's:99999:' . $this->store->config()->instance(), ''] as $cursor) {
            $c = $this->changes('?cursor=' . rawurlencode($cursor));
            $this->assertTrue($c['full'], $cursor);
            $this->assertCount(1, $c['holds'], $cursor);
        }
    }

    public function test_limit_pages_the_holds_and_more_leads_to_all(): void
    {
        $ids = [];
        foreach (['B00012', 'B00013', 'B00014', 'B00015'] as $code) {
            if ($code > 'B00013') {
                $this->item($code);
            }
            $ids[] = $this->routed('M0012345', [$code]);
        }
        $seen = [];
        $c = $this->changes('?limit=3');
        $this->assertTrue($c['more']);
        $this->assertCount(3, $c['holds']);
        $seen = array_merge($seen, array_column($c['holds'], 'id'));
        $c = $this->changes('?limit=3&cursor=' . rawurlencode($c['cursor']));
        $this->assertFalse($c['more']);
        $seen = array_merge($seen, array_column($c['holds'], 'id'));
        $this->assertSame($ids, $seen);
    }

    public function test_bad_limits_are_400(): void
    {
        foreach (['0', '1001', '-1', 'abc', ''] as $limit) {
            [$status, , $body] = $this->api('GET', "/kiosks/k-01/changes?limit=$limit", $this->token);
            $this->assertSame(400, $status, "limit=$limit");
            $this->assertSame('bad_request', $body['error']['code']);
        }
    }

    public function test_a_cancelled_pending_hold_is_removed_and_never_sent_again(): void
    {
        $id = $this->routed('M0012345', ['B00012']);
        $cursor = $this->changes()['cursor'];
        $this->store->cancelHold($id);
        $d = $this->changes('?cursor=' . rawurlencode($cursor));
        $this->assertSame([$id], $d['removed_holds']);
        $this->assertSame([], $d['holds']);
        $this->assertSame([], $this->changes()['holds']);
        $this->assertSame(0, $this->rowsOf("SELECT COUNT(*) FROM lokerbuku_command"));
    }

    public function test_cancelling_a_loaded_hold_sends_unload_hold(): void
    {
        $id = $this->routed('M0012345', ['B00012']);
        $this->post($this->token, [self::event('hold_loaded', ['hold_id' => $id, 'locker' => 3,
            'items' => [['barcode' => 'B00012']], 'actor' => 'staff:' . str_repeat('a', 64)])]);
        $this->store->cancelHold($id, 'member asked');
        [, , $s] = $this->api('POST', '/kiosks/k-01/status', $this->token, ['done_commands' => []]);
        $this->assertSame([['id' => $s['commands'][0]['id'], 'type' => 'unload_hold', 'hold_id' => $id,
            'reason' => 'member asked']], $s['commands']);
    }

    public function test_a_reservation_behind_another_members_is_not_routed(): void
    {
        $this->member('M2', 'Budi');
        $this->reserve('M2', 'B00012', '2026-10-01 09:00:00');
        $mine = $this->reserve('M0012345', 'B00012', '2026-11-01 09:00:00');
        $this->expectException(InvalidArgumentException::class);
        $this->store->routeReservations([$mine], 'k-01');
    }

    public function test_an_item_is_in_one_open_hold_at_a_time(): void
    {
        $r = $this->reserve('M0012345', 'B00012');
        $this->store->routeReservations([$r], 'k-01');
        $this->expectException(InvalidArgumentException::class);
        $this->store->routeReservations([$r], 'k-01');
    }

    public function test_enrolling_a_card_or_setting_a_pin_sends_the_hold_again(): void
    {
        $id = $this->routed('M0012345', ['B00012']);
        $cursor = $this->changes()['cursor'];
        $this->store->enrolCard('M0012345', '04A1B2C3');
        $d = $this->changes('?cursor=' . rawurlencode($cursor));
        $this->assertSame([$id], array_column($d['holds'], 'id'));
        $this->assertContains(self::hmac('uid:04A1B2C3'), $d['holds'][0]['credentials']);
        $this->store->setMemberPin('M0012345', '246813');
        $d = $this->changes('?cursor=' . rawurlencode($d['cursor']));
        $pin = $d['holds'][0]['pin'];
        [, $iter, $salt, $hash] = explode('$', $pin);
        $this->assertSame('200000', $iter);
        $this->assertSame($hash, bin2hex(hash_pbkdf2('sha256', '246813', hex2bin($salt), 200000, 32, true)));
        // Cleared: the hold comes again without a PIN.
        $this->store->setMemberPin('M0012345', null);
        $d = $this->changes('?cursor=' . rawurlencode($d['cursor']));
        $this->assertNull($d['holds'][0]['pin']);
    }

    public function test_a_member_pin_is_6_to_8_digits_of_a_known_member(): void
    {
        foreach ([['M0012345', '2468'], ['M0012345', '12345a'], ['NOBODY', '246813']] as [$m, $pin]) {
            try {
                $this->store->setMemberPin($m, $pin);
                $this->fail("$m $pin taken");
            } catch (InvalidArgumentException $e) {
                $this->assertSame(0, $this->rowsOf('SELECT COUNT(*) FROM lokerbuku_member_pin'));
            }
        }
    }

    public function test_a_members_opac_password_never_becomes_a_kiosk_pin(): void
    {
        // Issue 17 (4, 9): the membership form's password, numeric or
        // not, is the OPAC's; the kiosk PIN is a secret of its own.
        $this->routed('M0012345', ['B00012']);
        $_POST = ['memberPasswd' => '135790', 'memberPasswd2' => '135790'];
        foreach (['membership_after_update', 'membership_after_save'] as $hook) {
            \SLiMS\Plugins::getInstance()->execute($hook, ['data' => [['member_id' => 'M0012345']]]);
            \SLiMS\Plugins::getInstance()->execute($hook, ['data' => ['member_id' => 'M0012345']]);
        }
        $_POST = [];
        $this->assertNull($this->changes()['holds'][0]['pin']);
        $this->assertSame(0, $this->rowsOf('SELECT COUNT(*) FROM lokerbuku_member_pin'));
    }

    public function test_staff_come_to_every_kiosk_and_removals_as_deltas(): void
    {
        $cred = $this->store->setStaff('card:STAFF-01', '135790', 'Ani', 'admin');
        $this->assertSame(self::hmac('card:STAFF-01'), $cred);
        $c = $this->changes11();
        $this->assertCount(1, $c['staff']);
        $this->assertSame('admin', $c['staff'][0]['role']);
        $this->assertStringStartsWith('pbkdf2-sha256$600000$', $c['staff'][0]['pin']);
        $this->store->removeStaff($cred);
        $d = $this->changes11('?cursor=' . rawurlencode($c['cursor']));
        $this->assertSame([$cred], $d['removed_staff']);
        $this->assertSame([], $this->changes11()['staff']);
    }

    private function changes11(string $query = '', string $kiosk = 'k-01', ?string $token = null): array
    {
        [$status, , $body] = $this->api('GET', "/kiosks/$kiosk/changes" . $query, $token ?? $this->token, '', '1.1');
        $this->assertSame(200, $status, json_encode($body));
        return $body;
    }

    public function test_a_staff_card_goes_only_to_its_kiosks_and_is_removed_where_scoped_away(): void
    {
        $t2 = $this->store->addKiosk('k-02', 'Cabang', 1);
        $cred = $this->store->setStaff('card:STAFF-02', '135790');
        $before = $this->changes11('', 'k-02', $t2);
        $this->assertSame([$cred], array_column($before['staff'], 'credential'), 'no kiosk: every kiosk');
        $this->store->setStaffKiosks($cred, ['k-01']);
        $d = $this->changes11('?cursor=' . rawurlencode($before['cursor']), 'k-02', $t2);
        $this->assertSame([], $d['staff']);
        $this->assertSame([$cred], $d['removed_staff']);
        $this->assertSame([], $this->changes11('', 'k-02', $t2)['staff']);
        $this->assertSame([$cred], array_column($this->changes11()['staff'], 'credential'));
        $this->assertSame([['credential' => $cred, 'name' => '', 'role' => 'staff', 'kiosks' => ['k-01'],
            'iterations' => 600000]], $this->store->staff());
        $this->expectException(InvalidArgumentException::class);
        $this->store->setStaffKiosks($cred, ['k-99']);
    }

    public function test_a_v10_kiosk_gets_no_staff_hash_it_cannot_check(): void
    {
        $new = $this->store->setStaff('card:STAFF-03', '135790');
        // A hash of 200 000 iterations (the plugin's before) is one a v1.0 kiosk checks.
        $old = self::hmac('card:STAFF-04');
        $this->store->db()->prepare("INSERT INTO lokerbuku_staff (credential, name, pin_hash, role, removed, seq)"
            . " VALUES (?, '', ?, 'staff', 0, ?)")->execute([$old, Credentials::pinHash('246813'), $this->store->nextSeq()]);
        $v10 = $this->changes();
        $this->assertSame([$old], array_column($v10['staff'], 'credential'));
        $this->assertStringNotContainsString($new, json_encode($v10));
        [$upgraded, $kept] = $this->store->upgradeStaffPins();
        $this->assertSame([1, 1], [$upgraded, $kept]);
        $d = $this->changes('?cursor=' . rawurlencode($v10['cursor']));
        $this->assertSame([$old], $d['removed_staff'], 'upgraded: removed from a v1.0 kiosk');
        $this->assertSame([], $d['staff']);
        $pins = array_column($this->changes11()['staff'], 'pin', 'credential');
        $this->assertStringStartsWith('pbkdf2-sha256-2$200000$400000$', $pins[$old]);
        $this->assertStringStartsWith('pbkdf2-sha256$600000$', $pins[$new]);
    }

    public function test_long_titles_and_names_are_cut_on_character_boundaries(): void
    {
        $this->member('M3', str_repeat('é', 40) . ' Panjang');
        $this->item('B-LONG', str_repeat('Ñ', 200));
        $this->routed('M3', ['B-LONG']);
        $h = $this->changes()['holds'][0];
        $this->assertLessThanOrEqual(47, strlen($h['patron_name']));
        $this->assertTrue(mb_check_encoding($h['patron_name'], 'UTF-8'));
        $this->assertLessThanOrEqual(255, strlen($h['items'][0]['title']));
        $this->assertTrue(mb_check_encoding($h['items'][0]['title'], 'UTF-8'));
    }
}
