-- Requests a shop's clients send orderd, shared by the load scripts beside this file
-- (loadlab puts this folder on package.path). Ids stay within orderd's catalog
-- (products 1..1000) so every request is a valid one: an error in a run is the
-- service's, not the script's.
local shop = {}

local order_headers = { ["Content-Type"] = "application/json" }

-- Each wrk thread gets its own fixed seed: runs see the same mix, threads differ.
function shop.seed(thread_number)
  math.randomseed(7919 * (thread_number or 1))
end

function shop.product_get()
  return wrk.format("GET", "/api/products/" .. math.random(1, 1000))
end

function shop.product_page()
  return wrk.format("GET", "/api/products?offset=" .. math.random(0, 980) .. "&limit=20")
end

function shop.order_post()
  local items = {}
  for i = 1, math.random(1, 3) do
    items[i] = string.format('{"product_id":%d,"qty":%d}', math.random(1, 1000), math.random(1, 3))
  end
  local body = string.format('{"user_id":%d,"items":[%s]}', math.random(1, 100000), table.concat(items, ","))
  return wrk.format("POST", "/api/orders", order_headers, body)
end

-- Think time between a connection's requests: 2..8 ms, so load grows with the
-- number of connections like real clients, instead of every connection firing as
-- fast as the service answers (which measures only who wins the CPU).
function shop.think_time()
  return math.random(2, 8)
end

-- Numbers each wrk thread in setup() so init() can seed it.
local next_thread = 0
function shop.number_threads(thread)
  next_thread = next_thread + 1
  thread:set("thread_number", next_thread)
end

return shop
