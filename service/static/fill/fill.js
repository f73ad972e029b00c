// The kiosk fill page: fills one questionnaire session through @dialob/fill-api (window.DialobFill),
// at Settee's fill protocol under /fill/dialob (same origin, so the browser's credentials go along).
(function () {
  'use strict';

  var WORDS = {
    en: {
      previous: 'Previous', next: 'Next', complete: 'Complete', addRow: 'Add row',
      removeRow: 'Remove', row: 'Row', yes: 'Yes', no: 'No', saving: 'Saving…', saved: 'Saved',
      completed: 'Completed', thanks: 'Thank you, your answers have been sent.',
      fixErrors: 'Please check the answers marked below.', offline: 'Cannot reach the server: retrying…',
      missing: 'This session cannot be opened.',
    },
    fi: {
      previous: 'Edellinen', next: 'Seuraava', complete: 'Valmis', addRow: 'Lisää rivi',
      removeRow: 'Poista', row: 'Rivi', yes: 'Kyllä', no: 'Ei', saving: 'Tallennetaan…',
      saved: 'Tallennettu', completed: 'Valmis', thanks: 'Kiitos, vastauksesi on lähetetty.',
      fixErrors: 'Tarkista alla merkityt vastaukset.', offline: 'Palvelimeen ei saada yhteyttä: yritetään uudelleen…',
      missing: 'Tätä istuntoa ei voi avata.',
    },
  };

  var root = document.getElementById('fill');
  var sessionId = decodeURIComponent(location.pathname.replace(/\/+$/, '').split('/').pop());
  var session = window.DialobFill.newSession(sessionId, {
    endpoint: '/fill/dialob',
    transport: { mode: 'rest', credentials: 'same-origin' },
  });
  var failed = '';
  var tried = {}; // pages where NEXT or COMPLETE was tried: their required errors show
  var touched = {}; // items answered on this page: their errors show at once
  var waitingToComplete = null; // Complete was pressed while answers were still being saved

  function words() {
    return WORDS[session.getLocale()] || WORDS.en;
  }

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (name) {
      var value = attrs[name];
      if (value === undefined || value === null || value === false) return;
      if (name === 'text') node.textContent = value;
      else if (name.slice(0, 2) === 'on') node.addEventListener(name.slice(2), value);
      else node.setAttribute(name, value === true ? '' : value);
    });
    (children || []).forEach(function (child) { if (child) node.appendChild(child); });
    return node;
  }

  function rootItem() {
    return session.getAllItems().find(function (item) { return item.type === 'questionnaire'; });
  }

  function errorsOf(item, page) {
    var errors = session.getItemErrors(item.id) || [];
    return errors.filter(function (e) {
      return tried[page] || touched[item.id] || e.code !== 'REQUIRED';
    });
  }

  function hasErrors(item) {
    return (session.getItemErrors(item.id) || []).length > 0 || (item.items || []).some(function (id) {
      var child = session.getItem(id);
      return child ? hasErrors(child) : false;
    });
  }

  // Answers not yet confirmed by the server (fill-api batches them for a moment, then syncs).
  function pending() {
    var queue = session.syncQueue;
    return Boolean(queue && (queue.inSync || queue.syncActionQueue.length > 0));
  }

  function showSync() {
    var state = failed ? 'failed' : (pending() ? 'saving' : 'saved');
    root.setAttribute('data-sync', state);
    var status = root.querySelector('.sync');
    if (status) status.textContent = { failed: words().offline, saving: words().saving, saved: words().saved }[state];
  }

  // Completion is asked for once the answers are in and none has an error: fill-api counts
  // itself complete as soon as it asks.
  function complete(pageId) {
    tried[pageId] = true;
    if (pending()) {
      waitingToComplete = pageId;
      return;
    }
    waitingToComplete = null;
    if (Object.keys(session.state.errors).some(function (id) { return session.state.errors[id].length; })) {
      render();
      return;
    }
    session.complete();
    render(); // fill-api showed it complete before queueing it: now it shows as being sent
  }

  function answer(item, value) {
    touched[item.id] = true;
    session.setAnswer(item.id, value);
    showSync();
  }

  function inputFor(item, inputId) {
    var value = item.value;
    var type = item.type;
    if (type === 'boolean') {
      return el('div', { class: 'choices', role: 'radiogroup' }, [true, false].map(function (choice) {
        return el('label', { class: 'choice' }, [
          el('input', { type: 'radio', name: item.id, checked: value === choice,
                        onchange: function () { answer(item, choice); } }),
          el('span', { text: choice ? words().yes : words().no }),
        ]);
      }));
    }
    if (type === 'list' || type === 'multichoice') {
      var set = session.getValueSet(item.valueSetId) || { entries: [] };
      var many = type === 'multichoice';
      var chosen = many ? (value || []) : [value];
      return el('div', { class: 'choices', role: many ? 'group' : 'radiogroup' }, set.entries.map(function (entry) {
        return el('label', { class: 'choice' }, [
          el('input', {
            type: many ? 'checkbox' : 'radio', name: item.id, value: entry.key,
            checked: chosen.indexOf(entry.key) !== -1,
            onchange: function (event) {
              if (!many) return answer(item, entry.key);
              var now = (item.value || []).filter(function (k) { return k !== entry.key; });
              if (event.target.checked) now.push(entry.key);
              var order = set.entries.map(function (e) { return e.key; });
              now.sort(function (a, b) { return order.indexOf(a) - order.indexOf(b); });
              answer(item, now);
            },
          }),
          el('span', { text: entry.value }),
        ]);
      }));
    }
    var kinds = { number: 'number', decimal: 'number', date: 'date', time: 'time' };
    return el('input', {
      id: inputId, type: kinds[type] || 'text', value: value === undefined || value === null ? '' : String(value),
      step: type === 'number' ? '1' : (type === 'decimal' ? 'any' : null),
      inputmode: type === 'number' ? 'numeric' : (type === 'decimal' ? 'decimal' : null),
      'data-item': item.id,
      oninput: function (event) {
        var raw = event.target.value;
        if (raw === '') return answer(item, null);
        if (type === 'number' || type === 'decimal') {
          var number = Number(raw);
          return answer(item, isNaN(number) ? raw : number);
        }
        answer(item, raw);
      },
      onkeydown: function (event) {
        if (event.key === 'Enter') { event.preventDefault(); event.target.blur(); }
      },
    });
  }

  function renderItem(id, page) {
    var item = session.getItem(id);
    if (!item) return null;
    if (item.type === 'group') {
      return el('fieldset', { class: 'group item' }, [
        item.label ? el('legend', { text: item.label }) : null,
      ].concat((item.items || []).map(function (child) { return renderItem(child, page); })));
    }
    if (item.type === 'rowgroup') {
      var rows = (item.items || []).map(function (rowId, index) {
        var row = session.getItem(rowId);
        if (!row) return null;
        return el('div', { class: 'row', 'data-row': rowId }, [
          el('div', { class: 'row-head' }, [
            el('span', { text: words().row + ' ' + (index + 1) }),
            el('button', { type: 'button', class: 'secondary', 'aria-label': words().removeRow + ' ' + (index + 1),
                           text: words().removeRow, onclick: function () { session.deleteRow(rowId); } }),
          ]),
        ].concat((row.items || []).map(function (child) { return renderItem(child, page); })));
      });
      return el('fieldset', { class: 'rowgroup item' }, [
        item.label ? el('legend', { text: item.label }) : null,
      ].concat(rows, [
        el('button', { type: 'button', text: words().addRow, onclick: function () { session.addRowToGroup(item.id); } }),
      ]));
    }
    if (item.type === 'note') {
      return el('div', { class: 'item note' }, [
        el('p', { text: item.label || '' }),
        item.description ? el('p', { class: 'description', text: item.description }) : null,
      ]);
    }
    var errors = errorsOf(item, page);
    var inputId = 'q-' + item.id.replace(/[^A-Za-z0-9_-]/g, '_');
    var grouped = item.type === 'boolean' || item.type === 'list' || item.type === 'multichoice';
    return el('div', { class: 'item' + (errors.length ? ' invalid' : ''), 'data-id': item.id }, [
      el(grouped ? 'div' : 'label', { class: 'label' + (item.required ? ' required' : ''),
                                      for: grouped ? null : inputId, text: item.label || item.id }),
      item.description ? el('p', { class: 'description', text: item.description }) : null,
      inputFor(item, inputId),
      errors.length ? el('ul', { class: 'errors', role: 'alert' }, errors.map(function (e) {
        return el('li', { text: e.description });
      })) : null,
    ]);
  }

  function render() {
    // The field being typed in stays the same element, with what is typed so far (a number
    // field's "-" is no value yet, and an answer from the server may be older than the field).
    var typing = document.activeElement && document.activeElement.getAttribute('data-item')
      ? document.activeElement : null;
    var form = rootItem();
    document.documentElement.lang = session.getLocale() || 'en';
    root.textContent = '';
    if (failed && !form) {
      root.appendChild(el('p', { class: 'notice', text: words().missing + ' (' + failed + ')' }));
      return;
    }
    if (!form) return;
    document.title = form.label || 'Settee';
    if (session.isComplete()) {
      // Completed once the server has it: fill-api marks itself complete as it sends COMPLETE.
      var confirmed = !pending() && !failed;
      root.appendChild(el('section', { class: 'completed', role: 'status' }, confirmed ? [
        el('div', { class: 'mark', 'aria-hidden': 'true', text: '✓' }),
        el('h1', { text: words().completed }),
        el('p', { text: words().thanks }),
      ] : [el('h1', { text: failed ? words().offline : words().saving })]));
      showSync();
      return;
    }
    var pageId = form.activeItem;
    var page = session.getItem(pageId) || { items: [] };
    var available = form.availableItems || [];
    var allowed = form.allowedActions || [];
    root.appendChild(el('h1', { text: form.label || '' }));
    root.appendChild(el('div', { class: 'progress', text: (available.indexOf(pageId) + 1) + ' / ' + available.length }));
    if (tried[pageId] && hasErrors(page)) {
      root.appendChild(el('p', { class: 'notice', role: 'alert', text: words().fixErrors }));
    }
    var content = el('form', { onsubmit: function (event) { event.preventDefault(); } }, [
      page.label ? el('h2', { text: page.label }) : null,
    ].concat((page.items || []).map(function (id) { return renderItem(id, pageId); })));
    root.appendChild(content);
    root.appendChild(el('nav', {}, [
      allowed.indexOf('PREVIOUS') !== -1
        ? el('button', { type: 'button', class: 'secondary', text: words().previous, onclick: function () { session.previous(); } })
        : el('span', { class: 'spacer' }),
      el('span', { class: 'sync' }),
      allowed.indexOf('NEXT') !== -1
        ? el('button', { type: 'button', class: 'primary', text: words().next,
                         onclick: function () { tried[pageId] = true; session.next(); } })
        : el('button', { type: 'button', class: 'primary', text: words().complete,
                         onclick: function () { complete(pageId); } }),
    ]));
    showSync();
    if (typing) {
      var fresh = root.querySelector('[data-item="' + typing.getAttribute('data-item').replace(/"/g, '\\"') + '"]');
      if (fresh) {
        fresh.replaceWith(typing);
        typing.focus();
      }
    }
  }

  session.on('update', render);
  session.on('sync', function (state) {
    if (state === 'DONE') failed = '';
    showSync();
    // fill-api says DONE just before it marks the request finished: look once it has.
    setTimeout(function () {
      showSync();
      if (waitingToComplete && !pending()) complete(waitingToComplete);
      else if (session.isComplete() && !pending()) render();
    }, 0);
  });
  session.on('error', function (type, error) {
    failed = (error && (error.code || error.message)) || type;
    render();
  });
  session.pull().then(render);
})();
