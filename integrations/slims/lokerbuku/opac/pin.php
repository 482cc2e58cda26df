<?php
// SPDX-License-Identifier: GPL-3.0-or-later
// The member's kiosk PIN, in the OPAC (index.php?p=kiosk_pin), behind
// SLiMS's member login: a PIN of its own (6 to 8 digits), never the OPAC
// password. SLiMS includes this page from Opac::loadPluginPath() with
// $opac, and the member's session started.

defined('INDEX_AUTH') or die('Direct access not allowed!');

use Lokerbuku\Slims\Library;
use Lokerbuku\Slims\Store;
use Lokerbuku\Sync\Credentials;
use Lokerbuku\Sync\Guard;

$opac->page_title = __('Kiosk PIN');
$lokerbukuH = fn($s) => htmlspecialchars((string) $s, ENT_QUOTES | ENT_SUBSTITUTE, 'UTF-8');

if (!utility::isMemberLogin()) {
    echo '<div class="alert alert-info">' . $lokerbukuH(__('Log in to the member area first.'))
        . ' <a href="index.php?p=member">' . $lokerbukuH(__('Member Area')) . '</a></div>';
    return;
}
if (empty($_SESSION['lokerbuku_opac_csrf'])) {
    $_SESSION['lokerbuku_opac_csrf'] = bin2hex(random_bytes(16));
}
$lokerbukuMsg = '';
if (($_SERVER['REQUEST_METHOD'] ?? '') === 'POST' && isset($_POST['pin'])) {
    $pin = trim((string) $_POST['pin']);
    if (!hash_equals($_SESSION['lokerbuku_opac_csrf'], (string) ($_POST['lokerbuku_csrf'] ?? ''))) {
        $lokerbukuMsg = '<div class="alert alert-warning">' . $lokerbukuH(__('The form expired; try again.')) . '</div>';
    } elseif ($pin !== trim((string) ($_POST['pin2'] ?? ''))) {
        $lokerbukuMsg = '<div class="alert alert-warning">' . $lokerbukuH(__('The two PINs differ.')) . '</div>';
    } elseif (!Credentials::isNewPin($pin)) {
        $lokerbukuMsg = '<div class="alert alert-warning">' . $lokerbukuH(__('A kiosk PIN is 6 to 8 digits.')) . '</div>';
    } else {
        $lokerbukuDb = \SLiMS\DB::getInstance();
        try {
            Guard::run(function () use ($lokerbukuDb, $pin) {
                $lokerbukuDb->setAttribute(\PDO::ATTR_ERRMODE, \PDO::ERRMODE_EXCEPTION);
                (new Store($lokerbukuDb))->setMemberPin((string) $_SESSION['mid'], $pin);
            });
            $lokerbukuMsg = '<div class="alert alert-success">' . $lokerbukuH(__('Your kiosk PIN is saved.')) . '</div>';
        } catch (\Throwable $e) {
            Guard::log(new Library($lokerbukuDb), 'OPAC kiosk PIN: ' . Guard::describe($e), (string) $_SESSION['mid']);
            $lokerbukuMsg = '<div class="alert alert-danger">' . $lokerbukuH(__('Your kiosk PIN could not be saved.')) . '</div>';
        }
    }
    unset($pin);
}
?>
<div class="container my-4 lokerbuku-pin">
  <h3><?= $lokerbukuH(__('Kiosk PIN')) ?></h3>
  <p><?= $lokerbukuH(__('Book lockers ask for this PIN after your member card when the library wants it. It is not your member area password: choose another one.')) ?></p>
  <?= $lokerbukuMsg ?>
  <form id="lokerbuku-pin" method="post" action="index.php?p=kiosk_pin" autocomplete="off">
    <input type="hidden" name="lokerbuku_csrf" value="<?= $lokerbukuH($_SESSION['lokerbuku_opac_csrf']) ?>">
    <div class="form-group">
      <label for="lokerbuku-pin1"><?= $lokerbukuH(__('New kiosk PIN (6 to 8 digits)')) ?></label>
      <input id="lokerbuku-pin1" class="form-control" type="password" name="pin" inputmode="numeric" pattern="[0-9]{6,8}" required>
    </div>
    <div class="form-group">
      <label for="lokerbuku-pin2"><?= $lokerbukuH(__('Repeat the PIN')) ?></label>
      <input id="lokerbuku-pin2" class="form-control" type="password" name="pin2" inputmode="numeric" pattern="[0-9]{6,8}" required>
    </div>
    <button type="submit" class="btn btn-primary"><?= $lokerbukuH(__('Save PIN')) ?></button>
  </form>
</div>
