/* The warm pricing path in C: an optional accelerator for PriceCatalog.price_tokens and Slot.cost
 * (otel_cost/pricing/catalog.py, _result.py).
 *
 * price(slots, provider, model, service_tier, at_ns, usage) finds the catalog's cached slot and,
 * when it covers the call's time and has no discount rules, returns cost(slot.fast, usage).
 * cost(fast, usage) bills one TokenUsage at one slot's prices and returns the CostResult, exactly
 * as Slot.cost's Python code does: the same checks, the same components in the same order, the
 * same Decimal operations (through the number protocol, so in the caller's decimal context), the
 * same result object. It returns None whenever the Python code has something to say that is not
 * a plain priced result: a usage that is not an exact TokenUsage of exact ints, a count that is
 * negative, absurd or inconsistent (Python raises InvalidUsage), no input and no output (Python
 * returns None). The caller then runs the Python code, so every path keeps one implementation of
 * its errors, and the tests compare the two implementations over the whole cross-check corpus.
 *
 * ``fast`` is built by Slot.__init__: (vector, currency, price_ref, provider, model), where a
 * vector is (input, output, cache_read, cache_write, cache_write_1h, reasoning, input_audio,
 * output_audio, input_image, request, plain_sum, tiers) with each price a Decimal or None and
 * tiers a tuple of (threshold, vector), ascending.
 *
 * TokenUsage, CostResult and Slot are slotted classes: init() takes their member descriptors'
 * offsets once, so a usage's counts and a slot's fields are read, and a result's fields written,
 * without attribute lookups. Built only where a C compiler is present (the extension is optional); otel-cost is
 * complete without it.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>

enum { U_INPUT, U_OUTPUT, U_CACHE_READ, U_CACHE_WRITE, U_CACHE_WRITE_1H, U_REASONING,
       U_INPUT_AUDIO, U_OUTPUT_AUDIO, U_INPUT_IMAGE, U_REQUESTS, N_USAGE };
static const char *usage_fields[N_USAGE] = {
    "input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens",
    "cache_write_1h_tokens", "reasoning_tokens", "input_audio_tokens", "output_audio_tokens",
    "input_image_tokens", "requests"};

/* Vector positions of the prices (same components as PriceSet). */
enum { P_INPUT, P_OUTPUT, P_CACHE_READ, P_CACHE_WRITE, P_CACHE_WRITE_1H, P_REASONING,
       P_INPUT_AUDIO, P_OUTPUT_AUDIO, P_INPUT_IMAGE, P_REQUEST, P_PLAIN_SUM, P_TIERS, N_VECTOR };
static const char *component_names[P_PLAIN_SUM] = {
    "input", "output", "cache_read", "cache_write", "cache_write_1h", "reasoning",
    "input_audio", "output_audio", "input_image", "request"};

enum { R_STATUS, R_AMOUNT, R_CURRENCY, R_BREAKDOWN, R_REASON, R_PRICE_REF, R_PROVIDER, R_MODEL,
       R_SOURCE, N_RESULT };
static const char *result_fields[N_RESULT] = {
    "status", "amount", "currency", "breakdown", "reason", "price_ref", "provider", "model", "source"};

enum { S_LO, S_HI, S_DISCOUNTS, S_FAST, N_SLOT };
static const char *slot_fields[N_SLOT] = {"lo", "hi", "discounts", "fast"};

typedef struct {
    PyTypeObject *usage_type;
    PyTypeObject *result_type;
    PyTypeObject *slot_type;
    Py_ssize_t usage_offset[N_USAGE];
    Py_ssize_t result_offset[N_RESULT];
    Py_ssize_t slot_offset[N_SLOT];
    PyObject *zero;  /* Decimal(0) */
    PyObject *component[P_PLAIN_SUM];
    PyObject *priced, *partial, *no_price_component, *local;
} state_t;

static state_t S;  /* one interpreter; filled by init() */

#define SLOT(obj, offset) (*(PyObject **)((char *)(obj) + (offset)))
/* Counts of 2**34 (~17 billion) or more are absurd, as in the Python code. */
#define ABSURD(v) ((v) < 0 || ((v) >> 34) != 0)

static int
member_offset(PyTypeObject *type, const char *name, Py_ssize_t *offset)
{
    PyObject *descr = PyDict_GetItemString(type->tp_dict, name); /* borrowed */
    if (descr == NULL || !Py_IS_TYPE(descr, &PyMemberDescr_Type)) {
        PyErr_Format(PyExc_TypeError, "%s.%s is not a slot", type->tp_name, name);
        return -1;
    }
    PyMemberDef *member = ((PyMemberDescrObject *)descr)->d_member;
    if (member->type != T_OBJECT_EX) {
        PyErr_Format(PyExc_TypeError, "%s.%s is not an object slot", type->tp_name, name);
        return -1;
    }
    *offset = member->offset;
    return 0;
}

static PyObject *
init(PyObject *module, PyObject *args)
{
    (void)module;
    PyObject *usage_type, *result_type, *slot_type, *zero;
    if (!PyArg_ParseTuple(args, "O!O!O!O", &PyType_Type, &usage_type, &PyType_Type, &result_type,
                          &PyType_Type, &slot_type, &zero))
        return NULL;
    for (int k = 0; k < N_SLOT; k++)
        if (member_offset((PyTypeObject *)slot_type, slot_fields[k], &S.slot_offset[k]) < 0)
            return NULL;
    for (int k = 0; k < N_USAGE; k++)
        if (member_offset((PyTypeObject *)usage_type, usage_fields[k], &S.usage_offset[k]) < 0)
            return NULL;
    for (int k = 0; k < N_RESULT; k++)
        if (member_offset((PyTypeObject *)result_type, result_fields[k], &S.result_offset[k]) < 0)
            return NULL;
    Py_XSETREF(S.usage_type, (PyTypeObject *)Py_NewRef(usage_type));
    Py_XSETREF(S.result_type, (PyTypeObject *)Py_NewRef(result_type));
    Py_XSETREF(S.slot_type, (PyTypeObject *)Py_NewRef(slot_type));
    Py_XSETREF(S.zero, Py_NewRef(zero));
    for (int k = 0; k < P_PLAIN_SUM; k++) {
        if (S.component[k] == NULL && (S.component[k] = PyUnicode_InternFromString(component_names[k])) == NULL)
            return NULL;
    }
    if (S.priced == NULL) {
        S.priced = PyUnicode_InternFromString("priced");
        S.partial = PyUnicode_InternFromString("partial");
        S.no_price_component = PyUnicode_InternFromString("no_price_component");
        S.local = PyUnicode_InternFromString("local");
        if (!S.priced || !S.partial || !S.no_price_component || !S.local)
            return NULL;
    }
    Py_RETURN_NONE;
}

/* One component to bill: its vector position and token count (count_obj: the usage's own int
 * when the count is a field as read, else NULL and the count is made from ``count``). */
typedef struct {
    int component;
    long long count;
    PyObject *count_obj;
} bill_t;

/* Bill ``n`` components into ``breakdown``; the new total, or NULL with an exception set.
 * ``total`` is a new reference, or NULL to start from the first product: when no price has a
 * positive exponent, that sum reads exactly as the Python code's Decimal(0) + x + ... and saves
 * an addition. */
static PyObject *
bill(PyObject *vector, const bill_t *items, int n, PyObject *breakdown, PyObject *total)
{
    for (int k = 0; k < n; k++) {
        PyObject *price = PyTuple_GET_ITEM(vector, items[k].component);
        PyObject *count = items[k].count_obj;
        PyObject *x;
        if (count != NULL) {
            x = PyNumber_Multiply(price, count);
        } else {
            PyObject *made = PyLong_FromLongLong(items[k].count);
            if (made == NULL)
                goto fail;
            x = PyNumber_Multiply(price, made);
            Py_DECREF(made);
        }
        if (x == NULL)
            goto fail;
        if (PyDict_SetItem(breakdown, S.component[items[k].component], x) < 0) {
            Py_DECREF(x);
            goto fail;
        }
        if (total == NULL) {
            total = x;
        } else {
            PyObject *sum = PyNumber_Add(total, x);
            Py_DECREF(x);
            Py_SETREF(total, sum);
            if (total == NULL)
                return NULL;
        }
    }
    return total;
fail:
    Py_XDECREF(total);
    return NULL;
}

#define HAS(c) (PyTuple_GET_ITEM(vector, (c)) != Py_None)
#define IS_VECTOR(v)                                         \
    (PyTuple_CheckExact(v) && PyTuple_GET_SIZE(v) == N_VECTOR \
     && PyTuple_CheckExact(PyTuple_GET_ITEM((v), P_TIERS)))

static PyObject *
cost_of(PyObject *fast, PyObject *usage)
{
    if (S.usage_type == NULL || Py_TYPE(usage) != S.usage_type || !PyTuple_CheckExact(fast)
        || PyTuple_GET_SIZE(fast) != 5)
        Py_RETURN_NONE;

    PyObject *obj[N_USAGE];
    long long v[N_USAGE];
    for (int k = 0; k < N_USAGE; k++) {
        PyObject *o = SLOT(usage, S.usage_offset[k]);
        if (o == NULL || !PyLong_CheckExact(o))
            Py_RETURN_NONE;
        int overflow;
        v[k] = PyLong_AsLongLongAndOverflow(o, &overflow);
        if (overflow || ABSURD(v[k]))
            Py_RETURN_NONE;
        obj[k] = o;
    }
    long long i = v[U_INPUT], o = v[U_OUTPUT], cr = v[U_CACHE_READ], cw = v[U_CACHE_WRITE],
              c1 = v[U_CACHE_WRITE_1H], r = v[U_REASONING], ia = v[U_INPUT_AUDIO],
              oa = v[U_OUTPUT_AUDIO], ii = v[U_INPUT_IMAGE], rq = v[U_REQUESTS];
    if (cr + cw > i || c1 > cw || ia > i || ii > i || r > o || oa > o)
        Py_RETURN_NONE;
    if (i == 0 && o == 0)
        Py_RETURN_NONE;

    /* ``fast`` is built by Slot.__init__; its shape is still checked, so a malformed one sends
     * the call to the Python code instead of reading out of bounds. */
    PyObject *vector = PyTuple_GET_ITEM(fast, 0);
    if (!IS_VECTOR(vector))
        Py_RETURN_NONE;
    PyObject *tiers = PyTuple_GET_ITEM(vector, P_TIERS);
    for (Py_ssize_t t = 0; t < PyTuple_GET_SIZE(tiers); t++) {
        PyObject *tier = PyTuple_GET_ITEM(tiers, t);
        if (!PyTuple_CheckExact(tier) || PyTuple_GET_SIZE(tier) != 2
            || !PyLong_CheckExact(PyTuple_GET_ITEM(tier, 0)) || !IS_VECTOR(PyTuple_GET_ITEM(tier, 1)))
            Py_RETURN_NONE;
        int overflow; /* an exact int: the only failure is overflow, and no exception is set */
        long long threshold = PyLong_AsLongLongAndOverflow(PyTuple_GET_ITEM(tier, 0), &overflow);
        if (overflow)
            Py_RETURN_NONE;
        if (i > threshold)
            vector = PyTuple_GET_ITEM(tier, 1);
        else
            break;
    }
    int plain_sum = PyTuple_GET_ITEM(vector, P_PLAIN_SUM) == Py_True;

    /* Which components bill which tokens: Slot.cost's rules, in its order. */
    bill_t items[P_PLAIN_SUM];
    int n = 0, complete = 1;
    long long rest = i;
    if (cr && HAS(P_CACHE_READ)) {
        items[n++] = (bill_t){P_CACHE_READ, cr, obj[U_CACHE_READ]};
        rest -= cr;
    }
    if (cw) {
        if (c1 && HAS(P_CACHE_WRITE_1H)) {
            items[n++] = (bill_t){P_CACHE_WRITE_1H, c1, obj[U_CACHE_WRITE_1H]};
            rest -= c1;
            cw -= c1;
        }
        if (cw && HAS(P_CACHE_WRITE)) {
            items[n++] = (bill_t){P_CACHE_WRITE, cw, cw == v[U_CACHE_WRITE] ? obj[U_CACHE_WRITE] : NULL};
            rest -= cw;
        }
    }
    if (ia && HAS(P_INPUT_AUDIO)) {
        items[n++] = (bill_t){P_INPUT_AUDIO, ia, obj[U_INPUT_AUDIO]};
        rest -= ia;
    }
    if (ii && HAS(P_INPUT_IMAGE)) {
        items[n++] = (bill_t){P_INPUT_IMAGE, ii, obj[U_INPUT_IMAGE]};
        rest -= ii;
    }
    if (rest) {
        if (rest < 0)
            Py_RETURN_NONE; /* overlapping parts: Python raises InvalidUsage */
        if (HAS(P_INPUT))
            items[n++] = (bill_t){P_INPUT, rest, rest == i ? obj[U_INPUT] : NULL};
        else
            complete = 0;
    }
    rest = o;
    if (r && HAS(P_REASONING)) {
        items[n++] = (bill_t){P_REASONING, r, obj[U_REASONING]};
        rest -= r;
    }
    if (oa && HAS(P_OUTPUT_AUDIO)) {
        items[n++] = (bill_t){P_OUTPUT_AUDIO, oa, obj[U_OUTPUT_AUDIO]};
        rest -= oa;
    }
    if (rest) {
        if (rest < 0)
            Py_RETURN_NONE;
        if (HAS(P_OUTPUT))
            items[n++] = (bill_t){P_OUTPUT, rest, rest == o ? obj[U_OUTPUT] : NULL};
        else
            complete = 0;
    }
    if (rq && HAS(P_REQUEST))
        items[n++] = (bill_t){P_REQUEST, rq, obj[U_REQUESTS]};

    PyObject *breakdown = PyDict_New();
    if (breakdown == NULL)
        return NULL;
    PyObject *total = bill(vector, items, n, breakdown, plain_sum ? NULL : Py_NewRef(S.zero));
    if (total == NULL) {
        if (PyErr_Occurred()) {
            Py_DECREF(breakdown);
            return NULL;
        }
        total = Py_NewRef(S.zero); /* nothing billed */
    }
    PyObject *result = S.result_type->tp_alloc(S.result_type, 0);
    if (result == NULL) {
        Py_DECREF(total);
        Py_DECREF(breakdown);
        return NULL;
    }
    Py_ssize_t *off = S.result_offset;
    SLOT(result, off[R_STATUS]) = Py_NewRef(complete ? S.priced : S.partial);
    SLOT(result, off[R_AMOUNT]) = total;
    SLOT(result, off[R_CURRENCY]) = Py_NewRef(PyTuple_GET_ITEM(fast, 1));
    SLOT(result, off[R_BREAKDOWN]) = breakdown;
    SLOT(result, off[R_REASON]) = Py_NewRef(complete ? Py_None : S.no_price_component);
    SLOT(result, off[R_PRICE_REF]) = Py_NewRef(PyTuple_GET_ITEM(fast, 2));
    SLOT(result, off[R_PROVIDER]) = Py_NewRef(PyTuple_GET_ITEM(fast, 3));
    SLOT(result, off[R_MODEL]) = Py_NewRef(PyTuple_GET_ITEM(fast, 4));
    SLOT(result, off[R_SOURCE]) = Py_NewRef(S.local);
    return result;
}

static PyObject *
cost(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    (void)module;
    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "cost(fast, usage) takes two arguments");
        return NULL;
    }
    return cost_of(args[0], args[1]);
}

/* price(slots, provider, model, service_tier, at_ns, usage): PriceCatalog.price_tokens' warm
 * path. The cached slot of (provider, model, service_tier), if it covers at_ns and has no
 * discount rules, prices usage; None in every other case (the Python code then runs). */
static PyObject *
price(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    (void)module;
    if (nargs != 6) {
        PyErr_SetString(PyExc_TypeError, "price(slots, provider, model, service_tier, at_ns, usage)");
        return NULL;
    }
    PyObject *slots = args[0], *at_ns = args[4];
    if (S.slot_type == NULL || !PyDict_CheckExact(slots) || !PyLong_CheckExact(at_ns))
        Py_RETURN_NONE;
    PyObject *key = PyTuple_Pack(3, args[1], args[2], args[3]);
    if (key == NULL)
        return NULL;
    PyObject *slot = PyDict_GetItemWithError(slots, key); /* borrowed */
    Py_DECREF(key);
    if (slot == NULL) {
        PyErr_Clear(); /* not cached, or an unhashable name: the Python code answers either */
        Py_RETURN_NONE;
    }
    if (Py_TYPE(slot) != S.slot_type)
        Py_RETURN_NONE;
    Py_INCREF(slot); /* the dict may change while we compare */
    PyObject *lo = SLOT(slot, S.slot_offset[S_LO]), *hi = SLOT(slot, S.slot_offset[S_HI]),
             *discounts = SLOT(slot, S.slot_offset[S_DISCOUNTS]), *fast = SLOT(slot, S.slot_offset[S_FAST]);
    PyObject *result = NULL;
    if (lo == NULL || hi == NULL || fast == NULL || discounts == NULL || !PyTuple_CheckExact(discounts)
        || PyTuple_GET_SIZE(discounts) != 0 || !PyLong_CheckExact(lo) || !PyLong_CheckExact(hi)) {
        result = Py_NewRef(Py_None);
        goto done;
    }
    int inside = PyObject_RichCompareBool(lo, at_ns, Py_LE);
    if (inside > 0)
        inside = PyObject_RichCompareBool(at_ns, hi, Py_LT);
    if (inside < 0)
        goto done;
    result = inside ? cost_of(fast, args[5]) : Py_NewRef(Py_None);
done:
    Py_DECREF(slot);
    return result;
}

static PyMethodDef methods[] = {
    {"init", init, METH_VARARGS,
     "init(TokenUsage, CostResult, Slot, Decimal(0)): learn the slot layouts; call once first."},
    {"cost", (PyCFunction)(void (*)(void))cost, METH_FASTCALL,
     "cost(fast, usage) -> CostResult | None: Slot.cost's result, or None to run the Python code."},
    {"price", (PyCFunction)(void (*)(void))price, METH_FASTCALL,
     "price(slots, provider, model, service_tier, at_ns, usage) -> CostResult | None: the warm "
     "path of PriceCatalog.price_tokens, or None to run the Python code."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT, "otel_cost.pricing._speedups",
    "Optional C implementation of the warm pricing path (see _speedups.c).", -1, methods,
    NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC
PyInit__speedups(void)
{
    return PyModule_Create(&module_def);
}
