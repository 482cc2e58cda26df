<?php
// SPDX-License-Identifier: GPL-2.0-or-later
// The shared sync server (integrations/common) beyond what the SLiMS
// plugin uses of it: the route in the URL's path (as the INLISLite bridge
// serves it), tables under another prefix beside the plugin's, the
// widening of version 1 and 2 tables, and an Outcome's reason codes.
// SLiMS (its tables, Library) is the library system here.

use Lokerbuku\Slims\Library;
use Lokerbuku\Sync\Api;
use Lokerbuku\Sync\Outcome;
use Lokerbuku\Sync\Schema;
use Lokerbuku\Sync\Store;

final class CommonTest extends SlimsTestCase
{
    private const OTHER = 'lkbtest_';

    protected function tearDown(): void
    {
        Schema::drop($this->db, self::OTHER);
        parent::tearDown();
    }

    public function test_the_route_in_the_path_answers_as_the_route_in_the_query(): void
    {
        $token = $this->store->addKiosk('k-01', '', 1);
        $this->member('M0012345');
        $this->item('B/00?12');
        $this->routed('M0012345', ['B/00?12']);
        $api = new Api($this->store);
        $auth = "Bearer $token";
        $byQuery = $api->handle('GET', 'p=api/locker/v1/kiosks/k-01/items/B%2F00%3F12', $auth, '');
        $byPath = $api->handlePath('GET', '/lokerbuku/index.php/api/locker/v1/kiosks/k-01/items/B%2F00%3F12', '',
            $auth, '');
        $this->assertSame(200, $byPath[0], json_encode($byPath[2]));
        $this->assertSame($byQuery, $byPath);
        [$status, , $body] = $api->handlePath('GET', '/api/locker/v1/kiosks/k-01/changes', 'limit=1', $auth, '');
        $this->assertSame([200, true, 1], [$status, $body['full'], count($body['holds'])]);
        // The cursor in the real query string, as lokerd sends it.
        [$status, , $delta] = $api->handlePath('GET', '/api/locker/v1/kiosks/k-01/changes',
            'cursor=' . rawurlencode($body['cursor']), $auth, '');
        $this->assertSame([200, false, []], [$status, $delta['full'], $delta['holds']]);
        $this->assertSame(404, $api->handlePath('GET', '/elsewhere/kiosks/k-01/changes', '', $auth, '')[0]);
        $this->assertSame(401, $api->handlePath('GET', '/api/locker/v1/kiosks/k-01/changes', '', null, '')[0]);
        $this->assertSame(405, $api->handlePath('POST', '/api/locker/v1/kiosks/k-01/changes', '', $auth, '{}')[0]);
    }

    public function test_tables_under_another_prefix_stay_apart_from_the_plugins(): void
    {
        Schema::create($this->db, self::OTHER);
        $other = new Store($this->db, new Library($this->db), self::OTHER);
        $other->config()->set('site_key_file', self::$keyFile);
        $token = $other->addKiosk('k-09', 'elsewhere', 1);
        $this->member('M0012345');
        $this->item('B00012');
        $hold = $other->routeItems('M0012345', ['b00012'], 'k-09');
        $this->assertMatchesRegularExpression('/^SLiMS-I[1-9][0-9]*$/', $hold);
        $this->item('B00013');
        $second = $other->routeItems('M0012345', ['B00013'], 'k-09');
        $this->assertMatchesRegularExpression('/^SLiMS-I[1-9][0-9]*$/', $second);
        $this->assertNotSame($hold, $second, 'hold ids are never reused');
        $this->assertSame(['B00012'], $other->holdItems($hold), 'the barcode as SLiMS has it');
        // The plugin's own tables know nothing of it, and its token is not theirs.
        $this->assertSame(0, $this->rowsOf('SELECT COUNT(*) FROM lokerbuku_kiosk'));
        $this->assertSame(0, $this->rowsOf('SELECT COUNT(*) FROM lokerbuku_hold'));
        $this->assertSame(2, $this->rowsOf('SELECT COUNT(*) FROM lkbtest_hold'));
        $this->assertNull($this->store->kioskOfToken($token));
        [$status, , $body] = (new Api($other))->handle('GET', 'p=api/locker/v1/kiosks/k-09/changes', "Bearer $token", '');
        $this->assertSame(200, $status);
        $this->assertSame([$hold, $second], array_column($body['holds'], 'id'));
        $this->assertSame(401, $this->api('GET', '/kiosks/k-09/changes', $token)[0]);
        $this->expectException(\InvalidArgumentException::class);
        new Store($this->db, new Library($this->db), 'Bad-Prefix');
    }

    public function test_upgrade_widens_member_numbers_and_barcodes_of_old_tables(): void
    {
        $this->db->exec('ALTER TABLE lokerbuku_hold MODIFY COLUMN member_id varchar(20) NOT NULL');
        $this->db->exec('ALTER TABLE lokerbuku_hold_item MODIFY COLUMN item_code varchar(20) NOT NULL');
        $this->assertSame([], Schema::upgrade($this->db), 'no column was missing');
        foreach (['lokerbuku_hold' => 'member_id', 'lokerbuku_hold_item' => 'item_code',
                     'lokerbuku_card' => 'member_id', 'lokerbuku_member_pin' => 'member_id'] as $t => $c) {
            $this->assertSame(63, $this->rowsOf('SELECT CHARACTER_MAXIMUM_LENGTH FROM information_schema.COLUMNS'
                . ' WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? AND COLUMN_NAME = ?', [$t, $c]), "$t.$c");
        }
    }

    public function test_an_outcome_takes_only_reason_codes(): void
    {
        $this->assertSame(['item_already_lent', 'item_already_lent'],
            [Outcome::refused(Outcome::ITEM_LENT)->code, Outcome::refused(Outcome::ITEM_LENT)->text]);
        $this->assertSame([true, 'loan 1 due 2026-12-20'],
            [Outcome::done('loan 1 due 2026-12-20')->done, Outcome::done('loan 1 due 2026-12-20')->text]);
        $this->expectException(\InvalidArgumentException::class);
        Outcome::refused('Not A Code');
    }
}
