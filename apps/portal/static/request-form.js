// The request form's enhancements. Without this file the form still works: the address is a plain field
// matched when the form is sent, a "Show the questions" button brings the type's questions, and the
// nearby requests are shown before anything is filed. With it, the address field is a WAI-ARIA combobox over
// the town's gazetteer, a map (drawn from the town's own streets when there is no tile server) takes a pin,
// "Use my location" asks the browser, and the type's questions and the open requests nearby come in place.
(function () {
  "use strict";
  var form = document.getElementById("form");
  if (!form || !window.fetch) return;
  var texts = JSON.parse(document.getElementById("form-texts").textContent);
  var input = document.getElementById("address");
  var listbox = document.getElementById("address-options");
  var status = document.getElementById("address-status");
  var latitude = form.elements.latitude;
  var longitude = form.elements.longitude;
  var placeId = form.elements.place_id;
  var typeSelect = document.getElementById("request_type");
  var nearby = document.getElementById("nearby");
  var nearbySeen = form.elements.nearby_seen;
  var options = [];
  var active = -1;
  var searchTimer = null;
  var searchSerial = 0;
  var marker = null;
  var map = null;

  function getJSON(url) {
    return fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" }).then(function (r) {
      if (!r.ok) throw new Error(String(r.status));
      return r.json();
    });
  }

  function say(text) {
    // Cleared first so the same message is announced again.
    status.textContent = "";
    window.setTimeout(function () { status.textContent = text; }, 50);
  }

  // --- The address combobox (WAI-ARIA 1.2 combobox with a listbox popup) --------------------------------
  input.setAttribute("role", "combobox");
  input.setAttribute("aria-autocomplete", "list");
  input.setAttribute("aria-expanded", "false");
  input.setAttribute("aria-controls", "address-options");
  input.setAttribute("autocomplete", "off");

  function close() {
    listbox.hidden = true;
    listbox.innerHTML = "";
    input.setAttribute("aria-expanded", "false");
    input.removeAttribute("aria-activedescendant");
    active = -1;
  }

  function highlight(index) {
    var items = listbox.querySelectorAll("[role=option]");
    items.forEach(function (item, i) { item.setAttribute("aria-selected", i === index ? "true" : "false"); });
    active = index;
    if (index >= 0) {
      input.setAttribute("aria-activedescendant", items[index].id);
      items[index].scrollIntoView({ block: "nearest" });
    } else {
      input.removeAttribute("aria-activedescendant");
    }
  }

  function show(places) {
    options = places;
    listbox.innerHTML = "";
    places.forEach(function (place, i) {
      var item = document.createElement("li");
      item.id = "address-option-" + i;
      item.setAttribute("role", "option");
      item.setAttribute("aria-selected", "false");
      item.textContent = place.label;
      item.addEventListener("mousedown", function (event) { event.preventDefault(); choose(i); });
      listbox.appendChild(item);
    });
    var open = places.length > 0;
    listbox.hidden = !open;
    input.setAttribute("aria-expanded", open ? "true" : "false");
    active = -1;
    say(open ? texts.found.replace("%(count)s", places.length) : texts.none);
  }

  function choose(index) {
    var place = options[index];
    input.value = place.label;
    close();
    if (place.latitude !== null && place.longitude !== null) {
      setPosition(place.latitude, place.longitude, place.id || "");
    }
    say(texts.chosen.replace("%(place)s", place.label));
  }

  function search() {
    var text = input.value.trim();
    var serial = ++searchSerial;
    if (text.length < 3) { close(); return; }
    getJSON("/places/search?q=" + encodeURIComponent(text)).then(function (answer) {
      if (serial === searchSerial && document.activeElement === input) show(answer.places || []);
    }).catch(close);
  }

  input.addEventListener("input", function () {
    // What is typed no longer names the chosen place: the pin stays, but not the gazetteer's id.
    placeId.value = "";
    window.clearTimeout(searchTimer);
    searchTimer = window.setTimeout(search, 200);
  });
  input.addEventListener("keydown", function (event) {
    var count = listbox.querySelectorAll("[role=option]").length;
    if (event.key === "ArrowDown") {
      event.preventDefault();
      if (listbox.hidden) { search(); return; }
      highlight(count ? (active + 1) % count : -1);
    } else if (event.key === "ArrowUp") {
      event.preventDefault();
      highlight(count ? (active - 1 + count) % count : -1);
    } else if (event.key === "Enter" && !listbox.hidden && active >= 0) {
      event.preventDefault();
      choose(active);
    } else if (event.key === "Escape" && !listbox.hidden) {
      event.preventDefault();
      close();
    }
  });
  input.addEventListener("blur", function () { window.setTimeout(close, 150); });

  // --- A position: from the combobox, the map or the browser -------------------------------------------
  function setPosition(lat, lon, id) {
    latitude.value = Number(lat).toFixed(6);
    longitude.value = Number(lon).toFixed(6);
    placeId.value = id;
    if (map) {
      if (!marker) addMarker(lat, lon); else marker.setLatLng([lat, lon]);
      map.setView([lat, lon], Math.max(map.getZoom(), 17));
    }
    refreshNearby();
  }

  function pinned(lat, lon) {
    latitude.value = Number(lat).toFixed(6);
    longitude.value = Number(lon).toFixed(6);
    placeId.value = "";
    getJSON("/places/nearest?latitude=" + lat + "&longitude=" + lon).then(function (answer) {
      if (answer.outside) { say(texts.outside); return; }
      if (answer.place) {
        input.value = answer.place.label;
        say(texts.pinned.replace("%(place)s", answer.place.label));
      } else {
        say(texts.pinnedNowhere);
      }
      refreshNearby();
    }).catch(function () { refreshNearby(); });
  }

  function addMarker(lat, lon) {
    marker = window.L.marker([lat, lon], { draggable: true, keyboard: true, title: texts.pin, alt: texts.pin });
    marker.addTo(map);
    marker.on("dragend", function () { var p = marker.getLatLng(); pinned(p.lat, p.lng); });
  }

  var mapBox = document.getElementById("map");
  if (mapBox && window.L) {
    getJSON("/places/map.json").then(function (town) {
      mapBox.hidden = false;
      map = window.L.map(mapBox, { zoomControl: true, attributionControl: true, keyboard: true });
      map.getContainer().setAttribute("aria-label", texts.mapLabel);
      if (town.tiles && town.tiles.url) {
        window.L.tileLayer(town.tiles.url, { attribution: town.tiles.attribution || "", maxZoom: 19 }).addTo(map);
      }
      // The town's own streets and boundary, drawn as vectors: the map needs no tile server.
      window.L.geoJSON(town, {
        style: function (feature) {
          return feature.properties && feature.properties.kind === "boundary"
            ? { color: "#555", weight: 2, dashArray: "6 4", fill: false }
            : { color: "#1d4f91", weight: 4 };
        },
        onEachFeature: function (feature, layer) {
          if (feature.properties && feature.properties.name) {
            layer.bindTooltip(feature.properties.name, { sticky: true });
          }
        },
      }).addTo(map);
      var b = town.bounds;
      if (b) map.fitBounds([[b.min_latitude, b.min_longitude], [b.max_latitude, b.max_longitude]]);
      else map.setView([0, 0], 2);
      if (latitude.value && longitude.value) {
        addMarker(Number(latitude.value), Number(longitude.value));
        map.setView([Number(latitude.value), Number(longitude.value)], 17);
      }
      map.on("click", function (event) {
        if (!marker) addMarker(event.latlng.lat, event.latlng.lng); else marker.setLatLng(event.latlng);
        pinned(event.latlng.lat, event.latlng.lng);
      });
    }).catch(function () { mapBox.hidden = true; });
  }

  var locate = document.getElementById("use-my-location");
  if (locate && navigator.geolocation) {
    locate.hidden = false;
    locate.addEventListener("click", function () {
      say(texts.locating);
      navigator.geolocation.getCurrentPosition(function (position) {
        var lat = position.coords.latitude, lon = position.coords.longitude;
        if (map) {
          if (!marker) addMarker(lat, lon); else marker.setLatLng([lat, lon]);
          map.setView([lat, lon], 17);
        }
        pinned(lat, lon);
      }, function () { say(texts.noLocation); }, { enableHighAccuracy: true, timeout: 15000 });
    });
  }

  // --- Open requests of the same type nearby, and the type's own questions -----------------------------
  function refreshNearby() {
    if (!nearby || !typeSelect.value || !latitude.value || !longitude.value) return;
    var query = "?type=" + encodeURIComponent(typeSelect.value) + "&latitude=" + latitude.value +
      "&longitude=" + longitude.value;
    fetch("/requests/nearby" + query, { credentials: "same-origin" }).then(function (r) {
      return r.ok ? r.text() : "";
    }).then(function (html) {
      nearby.innerHTML = html;
      // Seen here, so sending does not stop to show them again.
      if (nearby.querySelector("li")) {
        nearbySeen.value = "1";
        say(texts.nearby);
      }
    });
  }

  var details = document.getElementById("type-details");
  var showDetails = document.getElementById("show-type-details");
  if (showDetails) showDetails.hidden = true;
  var submit = document.getElementById("send");
  function emergencyShown() {
    var emergency = details.querySelector("[data-emergency]");
    submit.hidden = !!emergency;
  }
  typeSelect.addEventListener("change", function () {
    fetch("/form/type-details?type=" + encodeURIComponent(typeSelect.value), { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.text() : ""; })
      .then(function (html) {
        details.innerHTML = html;
        emergencyShown();
        document.dispatchEvent(new CustomEvent("type-details-changed", { detail: details }));
        refreshNearby();
      });
  });
  emergencyShown();
  // A photo larger than the portal takes is refused at once, not after the whole form has been sent.
  form.addEventListener("change", function (event) {
    var field = event.target;
    if (field.type !== "file" || !field.files.length) return;
    var message = document.getElementById(field.id + "-size");
    if (!message) {
      message = document.createElement("p");
      message.id = field.id + "-size";
      message.className = "error-message";
      message.setAttribute("role", "alert");
      field.parentNode.insertBefore(message, field);
    }
    var tooBig = field.files[0].size > texts.photoBytes;
    message.textContent = tooBig ? texts.photoTooBig : "";
    message.hidden = !tooBig;
    if (tooBig) field.value = "";
  });

  // A form shown again (an error, "did you mean") already knows its place: show what is open near it.
  if (nearby && !nearby.querySelector("li")) refreshNearby();
})();
