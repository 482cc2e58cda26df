<?php return ['id_ID' => []];
