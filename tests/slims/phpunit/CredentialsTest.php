<?php
// SPDX-License-Identifier: GPL-2.0-or-later
// HMACs and PIN hashes against the worked examples of docs/sync-api.md.

use Lokerbuku\Sync\Credentials;
use PHPUnit\Framework\TestCase;

final class CredentialsTest extends TestCase
{
    private const KEY = '000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f';

    public function test_hmacs_match_the_worked_examples(): void
    {
        $k = hex2bin(self::KEY);
        $this->assertSame('0881634aabb9a9656cd132dac3b40a92b128e976fafec090b961f44d5a010843',
            Credentials::hmac($k, Credentials::card(' M0012345 ')));
        $this->assertSame('351db75d1aa67d43b7f687dab4d9276c4eea88078ee6b2ef174c86cb1ece1915',
            Credentials::hmac($k, Credentials::uid('04:a1:b2:c3:d4:e5:f6')));
        $this->assertSame('d2943ecdceead55ac7b22f6f4e5847340f0b033912415cadb459cdf3644a0064',
            Credentials::hmac($k, 'code:482913'));
    }

    public function test_pin_hash_matches_the_worked_example(): void
    {
        $this->assertSame('pbkdf2-sha256$10000$00112233445566778899aabbccddeeff$'
            . '89039be3462901c374f165b295309828495f2841c245a1d138a55f5414c4b4ca',
            Credentials::pinHash('2468', hex2bin('00112233445566778899aabbccddeeff'), 10000));
    }

    public function test_the_second_form_matches_the_worked_example(): void
    {
        $first = Credentials::pinHash('2468', hex2bin('000102030405060708090a0b0c0d0e0f'), 1000);
        $this->assertSame('pbkdf2-sha256-2$1000$2000$000102030405060708090a0b0c0d0e0f$'
            . 'e807771b79a8c4c135b3c2c4d2cd9513529b52b417e6db7a1acba5418e3d7360',
            Credentials::pinHashUpgrade($first, 3000));
        $this->assertNull(Credentials::pinHashUpgrade($first, 1000), 'costs that much already');
        $this->assertNull(Credentials::pinHashUpgrade(Credentials::pinHashUpgrade($first, 3000), 9000),
            'PBKDF2 of PBKDF2 does not chain');
        $this->assertTrue(Credentials::pinHashV10($first));
        $this->assertFalse(Credentials::pinHashV10(Credentials::pinHashUpgrade($first, 3000)));
        $this->assertFalse(Credentials::pinHashV10(Credentials::pinHash('2468', null, 200001)));
    }

    public function test_member_pin_hashes_are_as_slow_as_a_v10_kiosk_takes(): void
    {
        // docs/sync-api.md: at most 200 000 iterations (a v1.0 lokerd refuses more),
        // and a hold goes to every kiosk it is routed to.
        $h = Credentials::pinHash('975310');
        $this->assertMatchesRegularExpression('/^pbkdf2-sha256\$200000\$[0-9a-f]{32}\$[0-9a-f]{64}$/', $h);
        [, $iter, $salt, $hash] = explode('$', $h);
        $this->assertSame($hash, bin2hex(hash_pbkdf2('sha256', '975310', hex2bin($salt), (int) $iter, 32, true)));
        $this->assertNotSame($h, Credentials::pinHash('975310'), 'a new salt each time');
    }

    public function test_member_pins_are_6_to_8_digits(): void
    {
        foreach (['12345', '1234', '123456789', '12a456'] as $bad) {
            $this->assertFalse(Credentials::isNewPin($bad), $bad);
        }
        foreach (['123456', '1234567', '12345678'] as $good) {
            $this->assertTrue(Credentials::isNewPin($good), $good);
        }
    }

    public function test_refuses_pins_that_are_not_4_to_8_digits(): void
    {
        foreach (['123', '123456789', '12a4', ''] as $bad) {
            $this->assertFalse(Credentials::isPin($bad), $bad);
        }
        $this->expectException(InvalidArgumentException::class);
        Credentials::pinHash('abcd');
    }

    public function test_uids_must_be_4_7_or_10_bytes(): void
    {
        $this->assertSame('uid:04A1B2C3', Credentials::uid('04a1b2c3'));
        $this->assertNull(Credentials::uid('04A1B2'));
        $this->assertNull(Credentials::uid('04A1B2C3D4'));
    }

    public function test_a_sealed_pickup_code_opens_only_with_the_same_key(): void
    {
        $sealed = Credentials::seal('key one', '482913');
        $this->assertStringNotContainsString('482913', $sealed);
        $this->assertSame('482913', Credentials::unseal('key one', $sealed));
        $this->assertNull(Credentials::unseal('key two', $sealed));
    }
}
