/* django-celery-beat's periodic-task form: the crontab help shows the chosen schedule in words.
   Its own template ran this inline; Sextant's CSP allows no inline script, so it lives here. */
(function () {
  "use strict";
  var $ = window.django && window.django.jQuery;
  if (!$) return;
  $(function () {
    var source = document.getElementById("readable-crontabs");
    if (!source) return;
    var readable = JSON.parse(source.textContent);
    var help = $(".field-crontab .help");
    var original = help.first().text();
    $(".field-crontab_translation").hide();
    $(".field-crontab").change(function () {
      var words = readable[$("#id_crontab").val()] || "";
      help.text(original + (words ? " Translation: " + words : ""));
    });
  });
})();
